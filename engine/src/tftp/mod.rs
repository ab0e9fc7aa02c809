//! TFTP (RFC 1350) with options (RFC 2347, 2348, 2349, 7440), sans-IO.
//! `server` is the responder's side (R-TFTP-1..6); `client` models firmware and boot
//! programs in the simulator; `path` is R-TFTP-3.

pub mod client;
mod crc_shift;
mod file_data;
pub mod netascii;
pub mod packet;
pub mod path;
pub mod rto;
pub mod server;

#[cfg(test)]
mod client_patience_tests;
#[cfg(test)]
mod tests;

pub use client::{ClientConfig, ClientStatus, ClientTransfer};
pub use packet::Packet;
pub use server::{DataSink, FileData, FileSource, Pooled, ServerConfig, Transfer, TransferStatus};

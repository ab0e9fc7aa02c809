//! A segment's pcap in the lab: the raw Ethernet frames the switch forwards, stamped
//! with the time each started on the sender's link (as the simulator stamps its own).

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub struct FrameCapture {
    writer: Option<PcapWriter<BufWriter<File>>>,
    epoch: Duration,
    failed: bool,
}

impl FrameCapture {
    pub fn create(path: &Path) -> Result<FrameCapture, String> {
        let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(BufWriter::new(file), header)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(FrameCapture {
            writer: Some(writer),
            epoch,
            failed: false,
        })
    }

    /// `at`: time since the switch started.
    pub fn write(&mut self, at: Duration, frame: &[u8]) {
        let Some(w) = self.writer.as_mut().filter(|_| !self.failed) else {
            return;
        };
        let pkt = PcapPacket::new(self.epoch + at, frame.len() as u32, frame);
        if let Err(e) = w.write_packet(&pkt) {
            eprintln!("pcap: {e}; capture stopped");
            self.failed = true;
        }
    }

    /// Writes out what is buffered; later frames are not captured.
    pub fn finish(&mut self) {
        if let Some(w) = self.writer.take() {
            let _ = w.into_writer().flush();
        }
    }
}

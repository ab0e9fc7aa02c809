//! The firmware's own gaps before the packets of its boot file read, as a capture shows
//! them (docs/PROFILES.md, `timing:`): from the DHCP ACK that names the boot file to
//! the first read (`ack_to_read`), and EDK2's size probe, from the OACK to the error 8
//! (`probe_abort`) and from it to the read (`probe_to_read`). Each is stored less
//! `per_datagram` and `per_packet`, the time the firmware takes in the one frame (ACK,
//! OACK) before the gap, which the simulator holds its next send behind (`sim/src/world/firmware_cost.rs`).

use super::capture::Datagram;
use pxelab_engine::dhcp::firmware::FirmwareModel;
use pxelab_engine::dhcp::packet::{self as dhcp_packet, MessageType};
use pxelab_engine::tftp::packet::Packet;
use std::net::IpAddr;
use std::time::Duration;

fn tftp(x: &Datagram) -> Option<Packet<'_>> {
    Packet::parse(&x.payload).ok()
}

/// `client`: the leased address; `xid`: the DHCP REQUEST's transaction; `via_4011`: the
/// boot file came from a port-4011 ACK (then `ack_to_read` is not the DHCP ACK's).
pub(super) fn learn_gaps(
    all: &[Datagram],
    client: IpAddr,
    xid: u32,
    via_4011: bool,
    m: &mut FirmwareModel,
    notes: &mut Vec<String>,
) {
    // One frame (an ACK, an OACK) taken in before each of these.
    let taken = m.timing.per_datagram + m.timing.per_packet;
    let less_per_packet = |d: Duration| super::round_us(d.saturating_sub(taken));
    let first_rrq = all
        .iter()
        .position(|x| x.src == client && x.dport == 69 && matches!(tftp(x), Some(Packet::Rrq(_))));
    let Some(first_rrq) = first_rrq else {
        return;
    };
    if via_4011 {
        notes.push(
            "the boot file came by port 4011: the wait before reading it is the family's".into(),
        );
    } else {
        let ack = all[..first_rrq].iter().rev().find(|x| {
            x.dport == 68
                && dhcp_packet::parse(&x.payload)
                    .is_ok_and(|p| p.xid == xid && p.message_type == Some(MessageType::Ack))
        });
        if let Some(a) = ack {
            m.timing.ack_to_read = less_per_packet(all[first_rrq].at.saturating_sub(a.at));
        }
    }
    if !m.tftp_size_probe {
        return;
    }
    // The probe's answer (to its port), the client's error 8, its next read.
    let probe_port = all[first_rrq].sport;
    let rest = &all[first_rrq + 1..];
    let oack = rest.iter().find(|x| {
        x.dport == probe_port && matches!(tftp(x), Some(Packet::Oack { .. } | Packet::Data { .. }))
    });
    let abort = rest.iter().find(|x| {
        x.src == client
            && x.sport == probe_port
            && matches!(tftp(x), Some(Packet::Error { code: 8, .. }))
    });
    let read = abort.and_then(|e| {
        rest.iter().find(|x| {
            x.at >= e.at
                && x.src == client
                && x.dport == 69
                && matches!(tftp(x), Some(Packet::Rrq(_)))
        })
    });
    if let (Some(o), Some(e), Some(r)) = (oack, abort, read) {
        m.timing.probe_abort = less_per_packet(e.at.saturating_sub(o.at));
        m.timing.probe_to_read = less_per_packet(r.at.saturating_sub(e.at));
    }
}

//! The one player of a scenario's timeline: a [`Testbed`] (the simulator, the lab) says
//! which events it can play, and [`play`] checks the whole timeline against it before
//! the first event, then walks it in order, letting the testbed's time pass up to each
//! event and calling the testbed's method for its kind. turmoil's and TigerBeetle
//! VOPR's shape: one driver, many worlds.
//!
//! It lives in `sim` because both testbeds already depend on this crate (the lab fills
//! the simulator's [`crate::result`] types and checks them with [`crate::expect`]);
//! `scenario` stays the file format, with no notion of running it.

use pxelab_engine::Mac;
use pxelab_scenario::{ClearTarget, Event, EventKind, TftpRequest};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// A `link` event's changes; `None` keeps the segment's current value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkChange {
    pub rate_bps: Option<u64>,
    pub delay: Option<Duration>,
    pub loss: Option<f64>,
}

/// Somewhere a scenario's timeline can be played: one method per event kind.
///
/// Adding an event kind to the format adds a method here, and each testbed either
/// plays it or declares in [`Testbed::cannot_play`] that it cannot (yet); the player
/// reports such events before anything runs.
pub trait Testbed {
    type Error: fmt::Display;

    /// The testbed's name in messages: "the simulator", "the lab".
    fn name(&self) -> &str;

    /// Why this testbed cannot play `event` (yet), or `None` when it can. The one
    /// place a testbed declares what it cannot play; [`check`] asks it about every
    /// event before the first one is played, so the event's method is never called.
    fn cannot_play(&self, event: &EventKind) -> Option<String>;

    /// Lets the testbed's time pass until the timeline's event `index`, due `at` after
    /// scenario time 0.
    fn wait_until(&mut self, index: usize, at: Duration) -> Result<(), Self::Error>;

    /// `boot`: power on and network-boot a client (a second boot is a reboot).
    fn boot(&mut self, client: &str) -> Result<(), Self::Error>;
    /// A boot by another of the client's boot options for this boot only (v1.1 `boot`
    /// events' `netboot`); testbeds that cannot choose boot by the client's own.
    fn boot_with(
        &mut self,
        client: &str,
        netboot: Option<pxelab_scenario::Netboot>,
    ) -> Result<(), Self::Error> {
        let _ = netboot;
        self.boot(client)
    }
    /// `down`: the host stops at once, without a goodbye.
    fn down(&mut self, host: &str) -> Result<(), Self::Error>;
    /// `down ... during: transfer`: the host goes down just before it sends its next
    /// TFTP DATA packet.
    fn down_during_transfer(&mut self, host: &str) -> Result<(), Self::Error>;
    /// `up`: the host starts afresh.
    fn up(&mut self, host: &str) -> Result<(), Self::Error>;
    /// `link`: change a segment's link model.
    fn set_link(&mut self, segment: &str, change: LinkChange) -> Result<(), Self::Error>;
    /// `clear_required`: clear required PXE deployment records (R-STATE-2).
    fn clear_required(&mut self, target: &ClearTarget) -> Result<(), Self::Error>;
    /// `tftp_request` (extension): one TFTP request from a probe on the responder's
    /// segment.
    fn tftp_request(&mut self, request: &TftpRequest) -> Result<(), Self::Error>;
    /// `reload_exclusions` (extension): a responder reloads its MAC exclusion list;
    /// `macs` is the parsed file or its R-EX-1 error.
    fn reload_exclusions(
        &mut self,
        responder: &str,
        file: &Path,
        macs: &Result<Vec<Mac>, String>,
    ) -> Result<(), Self::Error>;

    /// After the last event: lets the testbed run until nothing is in flight.
    fn finish(&mut self) -> Result<(), Self::Error>;
}

/// The format's name of an event's kind, as a scenario file writes it.
pub fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Boot { .. } => "boot",
        EventKind::Down { .. } => "down",
        EventKind::Up { .. } => "up",
        EventKind::ClearRequired(_) => "clear_required",
        EventKind::Link { .. } => "link",
        EventKind::TftpRequest(_) => "tftp_request",
        EventKind::ReloadExclusions { .. } => "reload_exclusions",
    }
}

/// An event of the timeline that a testbed cannot play.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "line {line} (event {number}, at {}s): `{kind}` cannot be played in {testbed}: {reason}",
    .at.as_secs_f64()
)]
pub struct Unsupported {
    /// The event's place in the timeline, counted from 1.
    pub number: usize,
    pub line: usize,
    pub at: Duration,
    pub kind: &'static str,
    pub testbed: String,
    pub reason: String,
}

/// Why a timeline was not played to its end.
#[derive(Debug, thiserror::Error)]
pub enum PlayError<E: fmt::Display> {
    /// Events the testbed cannot play, every one of them; nothing was played.
    #[error("{}", .0.iter().map(|u| u.to_string()).collect::<Vec<_>>().join("; "))]
    Unsupported(Vec<Unsupported>),
    /// The testbed failed while playing.
    #[error("{0}")]
    Testbed(E),
}

/// Every event of `events` that `bed` cannot play, in timeline order.
pub fn check<T: Testbed + ?Sized>(events: &[Event], bed: &T) -> Vec<Unsupported> {
    events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            bed.cannot_play(&e.kind).map(|reason| Unsupported {
                number: i + 1,
                line: e.line,
                at: e.at,
                kind: kind_name(&e.kind),
                testbed: bed.name().to_string(),
                reason,
            })
        })
        .collect()
}

/// Plays `events` (in time order, as the loader sorts them) on `bed`, then lets it
/// finish. Nothing is played if any event cannot be.
pub fn play<T: Testbed + ?Sized>(events: &[Event], bed: &mut T) -> Result<(), PlayError<T::Error>> {
    let unsupported = check(events, bed);
    if !unsupported.is_empty() {
        return Err(PlayError::Unsupported(unsupported));
    }
    for (i, e) in events.iter().enumerate() {
        bed.wait_until(i, e.at).map_err(PlayError::Testbed)?;
        apply(bed, &e.kind).map_err(PlayError::Testbed)?;
    }
    bed.finish().map_err(PlayError::Testbed)
}

/// One event: the testbed's method for its kind.
fn apply<T: Testbed + ?Sized>(bed: &mut T, kind: &EventKind) -> Result<(), T::Error> {
    match kind {
        EventKind::Boot { client, netboot } => bed.boot_with(client, *netboot),
        EventKind::Down {
            host,
            during_transfer: true,
        } => bed.down_during_transfer(host),
        EventKind::Down { host, .. } => bed.down(host),
        EventKind::Up { host } => bed.up(host),
        EventKind::ClearRequired(target) => bed.clear_required(target),
        EventKind::Link {
            segment,
            rate_bps,
            delay,
            loss,
        } => bed.set_link(
            segment,
            LinkChange {
                rate_bps: *rate_bps,
                delay: *delay,
                loss: *loss,
            },
        ),
        EventKind::TftpRequest(req) => bed.tftp_request(req),
        EventKind::ReloadExclusions {
            responder,
            file,
            macs,
        } => bed.reload_exclusions(responder, file, macs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A testbed that writes down what it was asked to do.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
        refuse_tftp: bool,
        fail_on_up: bool,
    }

    impl Testbed for Recorder {
        type Error = String;
        fn name(&self) -> &str {
            "the recorder"
        }
        fn cannot_play(&self, event: &EventKind) -> Option<String> {
            match event {
                EventKind::TftpRequest(_) if self.refuse_tftp => Some("no probes here".into()),
                _ => None,
            }
        }
        fn wait_until(&mut self, index: usize, at: Duration) -> Result<(), String> {
            self.calls.push(format!("wait {index} {at:?}"));
            Ok(())
        }
        fn boot(&mut self, client: &str) -> Result<(), String> {
            self.calls.push(format!("boot {client}"));
            Ok(())
        }
        fn down(&mut self, host: &str) -> Result<(), String> {
            self.calls.push(format!("down {host}"));
            Ok(())
        }
        fn down_during_transfer(&mut self, host: &str) -> Result<(), String> {
            self.calls.push(format!("down-during-transfer {host}"));
            Ok(())
        }
        fn up(&mut self, host: &str) -> Result<(), String> {
            if self.fail_on_up {
                return Err(format!("{host} will not start"));
            }
            self.calls.push(format!("up {host}"));
            Ok(())
        }
        fn set_link(&mut self, segment: &str, change: LinkChange) -> Result<(), String> {
            self.calls
                .push(format!("link {segment} {:?}", change.rate_bps));
            Ok(())
        }
        fn clear_required(&mut self, target: &ClearTarget) -> Result<(), String> {
            self.calls.push(format!("clear {target:?}"));
            Ok(())
        }
        fn tftp_request(&mut self, request: &TftpRequest) -> Result<(), String> {
            self.calls.push(format!("tftp {}", request.file));
            Ok(())
        }
        fn reload_exclusions(
            &mut self,
            responder: &str,
            _file: &Path,
            _macs: &Result<Vec<Mac>, String>,
        ) -> Result<(), String> {
            self.calls.push(format!("reload {responder}"));
            Ok(())
        }
        fn finish(&mut self) -> Result<(), String> {
            self.calls.push("finish".into());
            Ok(())
        }
    }

    fn ev(at_s: u64, line: usize, kind: EventKind) -> Event {
        Event {
            at: Duration::from_secs(at_s),
            kind,
            line,
        }
    }

    fn timeline() -> Vec<Event> {
        vec![
            ev(
                0,
                10,
                EventKind::Boot {
                    client: "c1".into(),
                    netboot: None,
                },
            ),
            ev(
                5,
                11,
                EventKind::TftpRequest(TftpRequest {
                    responder: "dp1".into(),
                    write: false,
                    file: "a".into(),
                    options: Vec::new(),
                }),
            ),
            ev(
                6,
                12,
                EventKind::Down {
                    host: "dp1".into(),
                    during_transfer: true,
                },
            ),
            ev(7, 13, EventKind::Up { host: "dp1".into() }),
            ev(
                8,
                14,
                EventKind::ReloadExclusions {
                    responder: "dp1".into(),
                    file: PathBuf::from("x.txt"),
                    macs: Ok(Vec::new()),
                },
            ),
            ev(
                9,
                15,
                EventKind::TftpRequest(TftpRequest {
                    responder: "dp1".into(),
                    write: true,
                    file: "b".into(),
                    options: Vec::new(),
                }),
            ),
        ]
    }

    #[test]
    fn plays_every_event_in_order_after_waiting_for_it_then_finishes() {
        let mut bed = Recorder::default();
        play(&timeline(), &mut bed).unwrap();
        assert_eq!(
            bed.calls,
            [
                "wait 0 0ns",
                "boot c1",
                "wait 1 5s",
                "tftp a",
                "wait 2 6s",
                "down-during-transfer dp1",
                "wait 3 7s",
                "up dp1",
                "wait 4 8s",
                "reload dp1",
                "wait 5 9s",
                "tftp b",
                "finish",
            ]
        );
    }

    #[test]
    fn reports_every_unsupported_event_and_plays_none() {
        let mut bed = Recorder {
            refuse_tftp: true,
            ..Recorder::default()
        };
        let err = play(&timeline(), &mut bed).unwrap_err();
        let PlayError::Unsupported(list) = &err else {
            panic!("expected unsupported events, got {err}");
        };
        assert_eq!(list.len(), 2);
        assert_eq!(
            list[0].to_string(),
            "line 11 (event 2, at 5s): `tftp_request` cannot be played in the recorder: no probes here"
        );
        assert_eq!((list[1].number, list[1].line), (6, 15));
        let first = Unsupported {
            at: Duration::ZERO,
            ..list[0].clone()
        };
        assert!(first.to_string().starts_with("line 11 (event 2, at 0s): "));
        assert!(bed.calls.is_empty(), "nothing is played: {:?}", bed.calls);
    }

    #[test]
    fn a_testbed_error_stops_the_timeline_there() {
        let mut bed = Recorder {
            fail_on_up: true,
            ..Recorder::default()
        };
        let err = play(&timeline(), &mut bed).unwrap_err();
        assert_eq!(err.to_string(), "dp1 will not start");
        assert_eq!(bed.calls.last().map(String::as_str), Some("wait 3 7s"));
    }
}

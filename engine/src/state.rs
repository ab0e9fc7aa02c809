//! Deployment state (R-STATE): which required deployments have already run on which device.
//!
//! R-STATE-1: when a responder hands a required deployment's boot file to a device it
//! records (device, deployment) before it replies; a recorded required deployment is not
//! eligible again for that device (see [`crate::select`]). Peers and DPs of one site share
//! this record: the simulator wraps one [`MemoryStore`] in `Rc<RefCell<..>>` and hands a
//! clone to every responder of the site (see the `impl StateStore for Rc<RefCell<S>>`).
//!
//! R-STATE-2: clearing required PXE deployments for a device or a collection removes the
//! records, so the next PXE boot gets the most recent required deployment again.
//!
//! R-STATE-3 (durability across a crash) is the job of the daemon's persistent store
//! (SQLite, later); the trait keeps writes on `&mut self` and is object safe so that store
//! can stand behind `&mut dyn StateStore` like [`MemoryStore`] does.

use crate::ids::{Guid, Mac};
use crate::policy::{Site, X64_UNKNOWN, X86_UNKNOWN};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::rc::Rc;

/// The device a deployment record belongs to.
///
/// * A known device is keyed by its site machine name (`machine:WS01`): the site record is
///   what ConfigMgr keeps state against, so the record follows the machine whichever of its
///   identifiers (MAC or SMBIOS GUID, R-ID-3) matched this time.
/// * An unknown computer has no site record, so it is keyed by the identifiers it showed:
///   its MAC **and** its SMBIOS GUID (`unknown:52:54:00:00:00:01/1111…`, `-` when it sent
///   no GUID). Both are kept because either alone may be shared by several machines (a
///   docking station's or USB adapter's MAC, a cloned or blank GUID; the reason sites
///   list duplicate hardware identifiers, R-EX-4); the pair is what tells one unknown
///   computer from another, like ConfigMgr's unknown-computer record does.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceKey {
    /// A known site machine, by name.
    Machine(String),
    /// An unknown computer, by the identifiers it presented.
    Unknown { mac: Mac, guid: Option<Guid> },
}

impl DeviceKey {
    /// The key of a known machine (R-STATE-2: clear by machine name).
    pub fn machine(name: &str) -> DeviceKey {
        DeviceKey::Machine(name.to_string())
    }
}

impl fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceKey::Machine(name) => write!(f, "machine:{name}"),
            DeviceKey::Unknown {
                mac,
                guid: Some(guid),
            } => write!(f, "unknown:{mac}/{guid}"),
            DeviceKey::Unknown { mac, guid: None } => write!(f, "unknown:{mac}/-"),
        }
    }
}

/// A store could not record state. The responder then must not reply (R-STATE-1 says
/// the record is made *before* the reply).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("deployment state could not be recorded: {0}")]
pub struct StateError(pub String);

/// Where deployment state lives (R-STATE). Object safe: responders hold a
/// `&mut dyn StateStore` or a shared handle to one.
pub trait StateStore {
    /// R-STATE-1: has `deployment` already run on `device`?
    fn is_recorded(&self, device: &DeviceKey, deployment: &str) -> bool;
    /// R-STATE-1: record that `deployment` was handed to `device`. Recording twice is
    /// not an error.
    fn record(&mut self, device: &DeviceKey, deployment: &str) -> Result<(), StateError>;
    /// R-STATE-2: remove every record of `device`; returns how many were removed.
    fn clear_device(&mut self, device: &DeviceKey) -> usize;
    /// R-STATE-2: remove every record of each of `devices` (a collection's members, see
    /// [`devices_of_collection`]); returns how many were removed.
    fn clear_devices(&mut self, devices: &[DeviceKey]) -> usize {
        devices.iter().map(|d| self.clear_device(d)).sum()
    }
    /// R-STATE-2 for the built-in unknown-computer collections: remove the records of
    /// every unknown computer. The key of an unknown device does not keep its
    /// architecture, so clearing either built-in collection clears both kinds.
    fn clear_unknown_devices(&mut self) -> usize;
}

/// R-STATE-2: clear required PXE deployments for a collection (its members, or every
/// unknown computer for the built-in unknown-computer collections).
pub fn clear_collection(store: &mut dyn StateStore, site: &Site, name: &str) -> usize {
    if name == X86_UNKNOWN || name == X64_UNKNOWN {
        return store.clear_unknown_devices();
    }
    store.clear_devices(&devices_of_collection(site, name))
}

/// The in-memory store of the simulator: deterministic (ordered maps), no I/O.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStore {
    records: BTreeMap<DeviceKey, BTreeSet<String>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
    /// Every record, in order: (device, deployment).
    pub fn records(&self) -> impl Iterator<Item = (&DeviceKey, &str)> {
        self.records
            .iter()
            .flat_map(|(d, set)| set.iter().map(move |dep| (d, dep.as_str())))
    }
    /// Number of (device, deployment) records.
    pub fn len(&self) -> usize {
        self.records.values().map(BTreeSet::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

impl StateStore for MemoryStore {
    fn is_recorded(&self, device: &DeviceKey, deployment: &str) -> bool {
        self.records
            .get(device)
            .is_some_and(|s| s.contains(deployment))
    }
    fn record(&mut self, device: &DeviceKey, deployment: &str) -> Result<(), StateError> {
        self.records
            .entry(device.clone())
            .or_default()
            .insert(deployment.to_string());
        Ok(())
    }
    fn clear_device(&mut self, device: &DeviceKey) -> usize {
        self.records.remove(device).map_or(0, |s| s.len())
    }
    fn clear_unknown_devices(&mut self) -> usize {
        let mut n = 0;
        self.records.retain(|k, v| {
            let unknown = matches!(k, DeviceKey::Unknown { .. });
            if unknown {
                n += v.len();
            }
            !unknown
        });
        n
    }
}

/// One store shared by every responder of a site (R-STATE-1: "Peers and DPs of one site
/// share this record"). The simulator is single-threaded, hence `Rc<RefCell<..>>`.
impl<S: StateStore + ?Sized> StateStore for Rc<RefCell<S>> {
    fn is_recorded(&self, device: &DeviceKey, deployment: &str) -> bool {
        self.borrow().is_recorded(device, deployment)
    }
    fn record(&mut self, device: &DeviceKey, deployment: &str) -> Result<(), StateError> {
        self.borrow_mut().record(device, deployment)
    }
    fn clear_device(&mut self, device: &DeviceKey) -> usize {
        self.borrow_mut().clear_device(device)
    }
    fn clear_devices(&mut self, devices: &[DeviceKey]) -> usize {
        self.borrow_mut().clear_devices(devices)
    }
    fn clear_unknown_devices(&mut self) -> usize {
        self.borrow_mut().clear_unknown_devices()
    }
}

/// R-STATE-2: the devices whose records a "clear required PXE deployments" on collection
/// `name` removes: the collection's members, as machine keys. An undeclared collection
/// gives nothing. The built-in unknown-computer collections (`x86 Unknown Computer`,
/// `x64 Unknown Computer`) have no site members either, so they also give nothing here:
/// [`clear_collection`] clears them with [`StateStore::clear_unknown_devices`].
pub fn devices_of_collection(site: &Site, name: &str) -> Vec<DeviceKey> {
    if name == X86_UNKNOWN || name == X64_UNKNOWN {
        return Vec::new();
    }
    site.collection(name)
        .map(|c| c.members.iter().map(|m| DeviceKey::machine(m)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Collection;

    fn mac(s: &str) -> Mac {
        s.parse().unwrap()
    }

    #[test]
    fn device_key_display() {
        assert_eq!(DeviceKey::machine("WS01").to_string(), "machine:WS01");
        let g: Guid = "11111111-2222-3333-4444-555555555555".parse().unwrap();
        let k = DeviceKey::Unknown {
            mac: mac("52:54:00:00:00:01"),
            guid: Some(g),
        };
        assert_eq!(
            k.to_string(),
            "unknown:52:54:00:00:00:01/11111111-2222-3333-4444-555555555555"
        );
        let k = DeviceKey::Unknown {
            mac: mac("52:54:00:00:00:01"),
            guid: None,
        };
        assert_eq!(k.to_string(), "unknown:52:54:00:00:00:01/-");
    }

    #[test]
    fn r_state_1_record_and_query() {
        let mut s = MemoryStore::new();
        let ws = DeviceKey::machine("WS01");
        assert!(!s.is_recorded(&ws, "PS120001"));
        s.record(&ws, "PS120001").unwrap();
        s.record(&ws, "PS120001").unwrap();
        assert!(s.is_recorded(&ws, "PS120001"));
        assert!(!s.is_recorded(&ws, "PS120002"));
        assert!(!s.is_recorded(&DeviceKey::machine("WS02"), "PS120001"));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn r_state_2_clear_by_device() {
        let mut s = MemoryStore::new();
        let ws1 = DeviceKey::machine("WS01");
        let ws2 = DeviceKey::machine("WS02");
        s.record(&ws1, "A").unwrap();
        s.record(&ws1, "B").unwrap();
        s.record(&ws2, "A").unwrap();
        assert_eq!(s.clear_device(&ws1), 2);
        assert_eq!(s.clear_device(&ws1), 0);
        assert!(!s.is_recorded(&ws1, "A"));
        assert!(s.is_recorded(&ws2, "A"));
    }

    #[test]
    fn r_state_2_clear_by_collection() {
        let site = Site {
            collections: vec![Collection {
                name: "Lab".into(),
                members: vec!["WS01".into(), "WS02".into()],
            }],
            ..Site::default()
        };
        let mut s = MemoryStore::new();
        for m in ["WS01", "WS02", "WS03"] {
            s.record(&DeviceKey::machine(m), "A").unwrap();
        }
        let devs = devices_of_collection(&site, "Lab");
        assert_eq!(devs.len(), 2);
        assert_eq!(s.clear_devices(&devs), 2);
        assert!(s.is_recorded(&DeviceKey::machine("WS03"), "A"));
        assert!(devices_of_collection(&site, "Nope").is_empty());
        assert!(devices_of_collection(&site, X64_UNKNOWN).is_empty());
    }

    #[test]
    fn r_state_1_shared_between_responders() {
        let shared = Rc::new(RefCell::new(MemoryStore::new()));
        let mut a = shared.clone();
        let b = shared.clone();
        a.record(&DeviceKey::machine("WS01"), "A").unwrap();
        assert!(b.is_recorded(&DeviceKey::machine("WS01"), "A"));
        let dynamic: &dyn StateStore = &b;
        assert!(dynamic.is_recorded(&DeviceKey::machine("WS01"), "A"));
    }
}

#[cfg(test)]
mod clear_tests {
    use super::*;
    use crate::policy::{Collection, Site};

    #[test]
    fn r_state_2_clearing_a_builtin_collection_clears_unknown_computers_only() {
        let mut s = MemoryStore::new();
        let unknown = DeviceKey::Unknown {
            mac: "52:54:00:00:00:09".parse().unwrap(),
            guid: None,
        };
        s.record(&unknown, "PS120001").unwrap();
        s.record(&DeviceKey::machine("WS01"), "PS120002").unwrap();
        let site = Site {
            collections: vec![Collection {
                name: "Lab".into(),
                members: vec!["WS01".into()],
            }],
            ..Site::default()
        };
        assert_eq!(clear_collection(&mut s, &site, X64_UNKNOWN), 1);
        assert!(!s.is_recorded(&unknown, "PS120001"));
        assert!(s.is_recorded(&DeviceKey::machine("WS01"), "PS120002"));
        assert_eq!(clear_collection(&mut s, &site, "Lab"), 1);
        assert!(s.is_empty());
    }
}

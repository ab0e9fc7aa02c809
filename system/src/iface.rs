//! Interface names to the kernel's indexes (the number `ip link` shows before a name),
//! which multicast joins, scope ids and packet sockets take.

/// The index of interface `name`; `None` when there is no interface by that name.
pub fn index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: a NUL-terminated name; if_nametoindex only reads it.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// The indexes of every interface of this thread's network namespace.
pub fn all() -> Vec<u32> {
    let mut out = Vec::new();
    // SAFETY: if_nameindex returns an array ended by a zero entry, freed below.
    unsafe {
        let list = libc::if_nameindex();
        if list.is_null() {
            return out;
        }
        let mut p = list;
        while (*p).if_index != 0 {
            out.push((*p).if_index);
            p = p.add(1);
        }
        libc::if_freenameindex(list);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_an_index_and_is_listed_and_a_made_up_name_has_none() {
        let lo = index("lo").expect("every namespace has lo");
        assert!(all().contains(&lo));
        assert_eq!(index("pxl-no-such0"), None);
        assert_eq!(index("a\0b"), None);
    }
}

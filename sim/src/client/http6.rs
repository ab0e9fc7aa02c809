//! A client's UEFI HTTP boot over IPv6 (`netboot: http6`): EDK2's DHCPv6 as
//! `HttpBootDxe` runs it (`engine/src/dhcp6/http_firmware.rs`: PXE's Solicit and Request
//! with vendor class `HTTPClient`, played by six.rs), then, once the address is ready,
//! the HTTP part of [`crate::client_http::HttpBoot`] over IPv6 to the boot file URL's
//! `[address]:port`: HEAD and GET of the boot program, then its parameters and the boot
//! image (docs/MODEL.md, "HTTP boot").

use super::Client;
use crate::client_http::HttpBoot;
use pxelab_engine::Instant;
use rand::RngExt as _;

impl Client {
    /// Power on (or reboot) and boot by UEFI HTTP boot over IPv6.
    pub(super) fn boot_http6(&mut self, now: Instant) {
        // The scenario loader refuses `http6` on BIOS (no HTTP boot option).
        if let Some(model) = self.profile.http6.as_ref() {
            self.start6(now, model, "UEFI HTTP boot over IPv6 (http6)");
        }
    }

    /// The DHCPv6 part is done (address leased and ready, boot file URL known): the HTTP
    /// part takes the client's calls from here.
    pub(super) fn start_http6(&mut self, now: Instant, url: &str) {
        let http = HttpBoot::new(
            self.profile,
            self.mac,
            self.guid,
            self.class,
            self.press_key,
            self.verify,
        );
        let (Some(mut h), Some(ip6)) = (http, self.ip6) else {
            self.six = None;
            return;
        };
        self.http6_lease = self.six.take().and_then(|b| b.lease);
        h.draw_tcp(self.boot_started, self.draws.random());
        h.boot_from_url6(now, self.boot_started, ip6, url);
        self.http = Some(Box::new(h));
        self.sync_http();
    }

    /// HttpBootStop: the firmware releases its DHCPv6 address (Release 1, 2, 8, 3 right
    /// after the boot program's connection is reset, in all three HTTPv6 captures).
    pub(crate) fn release_http6(&mut self) {
        if let Some(lease) = self.http6_lease.take() {
            self.send_release6(lease);
        }
    }
}

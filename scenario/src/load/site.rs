//! The `site` section: the deployment policy (boot images, machines, collections,
//! deployments, duplicates, sites).

use super::*;

impl Cx<'_> {
    pub(super) fn site(&self, n: &Node, sn: &mut SiteNames) -> R<Site> {
        let o = self.obj(n, "`site`", SITE)?;
        let mut site = Site {
            code: o
                .get("code")
                .map(|c| self.text(c, "a site code"))
                .transpose()?
                .unwrap_or_default(),
            ..Site::default()
        };
        // R-ID-5: the primary sites of the hierarchy, the site's own first.
        if let Some((_, c)) = o.entry("code").filter(|_| !site.code.is_empty()) {
            sn.sites.declare(self.file, c, &site.code)?;
        }
        for other in self.list(o.get("other_sites"), "`other_sites`")? {
            let code = self.text(other, "a site code")?;
            if site.code.is_empty() {
                return Err(self.err(
                    other,
                    "`other_sites` needs the site's own `code` (machines and responders belong to it by default)",
                ));
            }
            if code == site.code {
                return Err(self.err(
                    other,
                    format!("`other_sites` lists `{code}`, which is this site's own `code`"),
                ));
            }
            sn.sites.declare(self.file, other, &code)?;
            site.other_sites.push(code);
        }
        for i in self.list(o.get("boot_images"), "`boot_images`")? {
            let b = self.obj(i, "a boot image", IMAGE)?;
            let idn = self.req(&b, "id")?;
            let id = self.name(idn, "boot image id")?;
            sn.images.declare(self.file, idn, &id)?;
            let arch = self.choice(
                self.req(&b, "arch")?,
                "`arch`",
                &[
                    ("x86", Arch::X86),
                    ("x64", Arch::X64),
                    ("arm64", Arch::Arm64),
                ],
            )?;
            site.boot_images.push(BootImage {
                id,
                arch,
                size: self
                    .opt(&b, "size", parse_size)?
                    .unwrap_or(DEFAULT_BOOT_IMAGE_SIZE),
                pxe_enabled: self.opt(&b, "pxe_enabled", parse_bool)?.unwrap_or(true),
            });
        }
        for m in self.list(o.get("machines"), "`machines`")? {
            let mo = self.obj(m, "a machine", MACHINE)?;
            let nn = self.req(&mo, "name")?;
            let name = self.name(nn, "machine name")?;
            sn.machines.declare(self.file, nn, &name)?;
            site.machines.push(Machine {
                name,
                mac: self.opt(&mo, "mac", mac)?,
                smbios_guid: self.opt(&mo, "smbios_guid", guid)?,
                assigned_site: mo
                    .get("assigned_site")
                    .map(|n| self.site_ref(sn, n, "assigned_site"))
                    .transpose()?,
            });
        }
        for c in self.list(o.get("collections"), "`collections`")? {
            let co = self.obj(c, "a collection", COLLECTION)?;
            let nn = self.req(&co, "name")?;
            let name = self.text(nn, "collection name")?;
            if name == X86_UNKNOWN || name == X64_UNKNOWN {
                return Err(self.err(
                    nn,
                    format!("`{name}` is built in and may not be declared; deployments name it directly"),
                ));
            }
            check_name(&name).map_err(|e| self.err(nn, format!("collection name: {e}")))?;
            sn.collections.declare(self.file, nn, &name)?;
            let mut members = Vec::new();
            for m in self.list(co.get("members"), "`members`")? {
                members.push(self.refer(&sn.machines, m, "member")?);
            }
            site.collections.push(Collection { name, members });
        }
        for d in self.list(o.get("deployments"), "`deployments`")? {
            let dobj = self.obj(d, "a deployment", DEPLOYMENT)?;
            let idn = self.req(&dobj, "id")?;
            let id = self.name(idn, "deployment id")?;
            sn.deployments.declare(self.file, idn, &id)?;
            let cn = self.req(&dobj, "collection")?;
            let collection = self.text(cn, "a collection name")?;
            if collection != X86_UNKNOWN
                && collection != X64_UNKNOWN
                && !sn.collections.contains(&collection)
            {
                return Err(self.err(
                    cn,
                    format!(
                        "collection `{collection}` is not declared ({}; built in: `{X86_UNKNOWN}`, `{X64_UNKNOWN}`)",
                        sn.collections.known()
                    ),
                ));
            }
            let boot_image =
                self.refer(&sn.images, self.req(&dobj, "boot_image")?, "boot image")?;
            let purpose = self.choice(
                self.req(&dobj, "purpose")?,
                "`purpose`",
                &[
                    ("required", Purpose::Required),
                    ("available", Purpose::Available),
                ],
            )?;
            let available_to = self.choice(
                self.req(&dobj, "available_to")?,
                "`available_to`",
                &[
                    ("clients_media_pxe", AvailableTo::ClientsMediaPxe),
                    ("media_pxe", AvailableTo::MediaPxe),
                    ("media_pxe_hidden", AvailableTo::MediaPxeHidden),
                    ("clients", AvailableTo::Clients),
                ],
            )?;
            site.deployments.push(Deployment {
                id,
                collection,
                boot_image,
                purpose,
                available_to,
            });
        }
        match (o.entry("peer_key"), o.get("peer_key_file")) {
            (Some((k, _)), Some(_)) => {
                return Err(self.err(
                    k,
                    "`site` has both `peer_key` and `peer_key_file`; give one of them",
                ))
            }
            (Some((_, v)), None) => {
                let text = self.text(v, "a peer key (a secret text)")?;
                sn.peer_key = Some(PeerKey::new(text.into_bytes()).ok_or_else(|| {
                    self.err(
                        v,
                        "`peer_key` is empty (an empty key authenticates nothing)",
                    )
                })?);
            }
            (None, Some(f)) => {
                let rel = self.text(f, "a file path")?;
                let path = self.file.parent().unwrap_or(Path::new("")).join(&rel);
                let bytes = std::fs::read(&path).map_err(|e| {
                    self.err(
                        f,
                        format!("cannot read peer_key_file `{}`: {e}", path.display()),
                    )
                })?;
                sn.peer_key = Some(PeerKey::new(bytes).ok_or_else(|| {
                    self.err(f, format!("peer_key_file `{}` is empty", path.display()))
                })?);
            }
            (None, None) => {}
        }
        if let Some(dn) = o.get("duplicate_hardware_ids") {
            let dup = self.obj(dn, "`duplicate_hardware_ids`", DUPLICATES)?;
            for m in self.list(dup.get("macs"), "`macs`")? {
                site.duplicate_macs.push(self.value(m, "MAC", mac)?);
            }
            for g in self.list(dup.get("smbios_guids"), "`smbios_guids`")? {
                site.duplicate_guids
                    .push(self.value(g, "SMBIOS GUID", guid)?);
            }
        }
        Ok(site)
    }
}

/* How pxelab's boot program reaches the server that served it (included by bootprog.c,
 * which defines BS, fail, fail_status and server_text before it).
 *
 * net_open(device) finds out how the firmware booted it, from the loaded image's device
 * handle:
 *  - PXE over IPv4: the handle has the PXE base code protocol; the server is the one
 *    whose reply named the boot program (siaddr), as before.
 *  - PXE over IPv6 (Mode->UsingIpv6): the DHCPv6 reply kept in Mode has no siaddr and
 *    no chaddr; the server comes from its Boot File URL (option 59,
 *    tftp://[address]/path), the MAC from the device path's MAC node.
 *  - UEFI HTTP boot (IPv4 or IPv6): no PXE base code protocol; the handle's device path
 *    ends in an IP node (the address the firmware got) and a URI node (the boot
 *    program's own URL). Files come from the server in that URL, over the HTTP
 *    protocol of the NIC (EFI_HTTP_SERVICE_BINDING_PROTOCOL, one child per GET).
 * net_read(path, buffer, size, blksize) reads one file from that server.
 */

static UINT8 client_mac[6];
/* What a failed read is called in the FAILED marker. */
static const char *net_kind = "tftp";

static EFI_PXE_BASE_CODE_PROTOCOL *pxe;
static EFI_IP_ADDRESS tftp_server;

static EFI_SERVICE_BINDING_PROTOCOL *http_sb;
static char http_authority[80]; /* host[:port] as in the URL (IPv6 in brackets) */
static BOOLEAN http_v6;
static UINT8 http_local[16], http_mask[4];

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* ---- addresses as text ---- */
static void ip4_text(const UINT8 *a, char *out) {
  UINTN n = 0;
  for (int i = 0; i < 4; i++) {
    if (i)
      out[n++] = '.';
    UINT32 v = a[i];
    if (v >= 100)
      out[n++] = (char)('0' + v / 100);
    if (v >= 10)
      out[n++] = (char)('0' + v / 10 % 10);
    out[n++] = (char)('0' + v % 10);
  }
  out[n] = 0;
}

/* RFC 5952: lowercase, no leading zeros, the longest run (2 groups or more, the first
 * of equals) of zero groups as "::" - as Rust prints an Ipv6Addr. */
static void ip6_text(const UINT8 *a, char *out) {
  UINT16 g[8];
  for (int i = 0; i < 8; i++)
    g[i] = (UINT16)(a[2 * i] << 8 | a[2 * i + 1]);
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i]) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && !g[j])
      j++;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  UINTN n = 0;
  int after_gap = 0;
  for (int i = 0; i < 8;) {
    if (i == best) {
      out[n++] = ':';
      out[n++] = ':';
      i += best_len;
      after_gap = 1;
      continue;
    }
    if (i > 0 && !after_gap)
      out[n++] = ':';
    after_gap = 0;
    int started = 0;
    for (int k = 12; k >= 0; k -= 4) {
      UINT32 d = (g[i] >> k) & 15;
      if (d || started || k == 0) {
        out[n++] = "0123456789abcdef"[d];
        started = 1;
      }
    }
    i++;
  }
  out[n] = 0;
}

/* An IPv6 address in text (with "::" at most once), into 16 bytes; 0 if it is not one. */
static int parse_ip6(const char *s, UINTN n, UINT8 *out) {
  UINT16 g[8];
  int ng = 0, gap = -1;
  UINTN i = 0;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
  }
  while (i < n) {
    UINT32 v = 0;
    int d = 0;
    while (i < n && hex_digit(s[i]) >= 0 && d < 4) {
      v = v * 16 + (UINT32)hex_digit(s[i]);
      i++;
      d++;
    }
    if (!d || ng == 8)
      return 0;
    g[ng++] = (UINT16)v;
    if (i == n)
      break;
    if (s[i] != ':')
      return 0;
    i++;
    if (i < n && s[i] == ':') {
      if (gap >= 0)
        return 0;
      gap = ng;
      i++;
    } else if (i == n) {
      return 0;
    }
  }
  if ((gap < 0 && ng != 8) || (gap >= 0 && ng > 7))
    return 0;
  UINT16 full[8];
  int k = 0;
  for (int j = 0; j <= ng; j++) {
    if (j == gap)
      for (int z = 0; z < 8 - ng; z++)
        full[k++] = 0;
    if (j < ng)
      full[k++] = g[j];
  }
  for (int j = 0; j < 8; j++) {
    out[2 * j] = (UINT8)(full[j] >> 8);
    out[2 * j + 1] = (UINT8)full[j];
  }
  return 1;
}

/* ---- device paths ---- */
static UINTN dp_len(const EFI_DEVICE_PATH_PROTOCOL *d) {
  return (UINTN)d->Length[0] | (UINTN)d->Length[1] << 8;
}

/* The first messaging node of this subtype, or 0. */
static const EFI_DEVICE_PATH_PROTOCOL *dp_find(const EFI_DEVICE_PATH_PROTOCOL *d, UINT8 sub) {
  while (d && d->Type != DP_END) {
    if (d->Type == DP_MESSAGING && d->SubType == sub)
      return d;
    if (dp_len(d) < 4)
      return 0;
    d = (const EFI_DEVICE_PATH_PROTOCOL *)((const UINT8 *)d + dp_len(d));
  }
  return 0;
}

/* "scheme://host[:port]/...": the authority (host[:port]) into `auth`, and the host as
 * the markers name it into server_text (IPv6 in its shortest form). 0 if malformed. */
static int url_server(const char *url, UINTN n, char *auth, UINTN cap, UINT8 *ip6,
                      BOOLEAN *is_v6) {
  UINTN i = 0;
  while (i + 2 < n && !(url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/'))
    i++;
  if (i + 2 >= n)
    return 0;
  i += 3;
  UINTN start = i;
  while (i < n && url[i] != '/')
    i++;
  UINTN alen = i - start;
  if (alen == 0 || alen >= cap)
    return 0;
  for (UINTN k = 0; k < alen; k++)
    auth[k] = url[start + k];
  auth[alen] = 0;
  *is_v6 = auth[0] == '[';
  if (*is_v6) {
    UINTN close = 1;
    while (close < alen && auth[close] != ']')
      close++;
    if (close == alen || !parse_ip6(auth + 1, close - 1, ip6))
      return 0;
    ip6_text(ip6, server_text);
  } else {
    UINTN h = 0;
    while (h < alen && auth[h] != ':' && h < sizeof(server_text) - 1) {
      server_text[h] = auth[h];
      h++;
    }
    server_text[h] = 0;
  }
  return 1;
}

/* A DHCPv6 option in a message the PXE base code kept (options from byte 4). */
static const UINT8 *dhcp6_option(const UINT8 *msg, UINT16 code, UINTN *len) {
  UINTN i = 4;
  while (i + 4 <= sizeof(EFI_PXE_BASE_CODE_PACKET)) {
    UINT16 c = (UINT16)(msg[i] << 8 | msg[i + 1]);
    UINTN l = (UINTN)(msg[i + 2] << 8 | msg[i + 3]);
    if (c == 0 || i + 4 + l > sizeof(EFI_PXE_BASE_CODE_PACKET))
      return 0;
    if (c == code) {
      *len = l;
      return msg + i + 4;
    }
    i += 4 + l;
  }
  return 0;
}

static void pxe_open(const EFI_DEVICE_PATH_PROTOCOL *dp) {
  EFI_PXE_BASE_CODE_MODE *m = pxe->Mode;
  if (!m->DhcpAckReceived)
    fail("no-dhcp-ack", 0);
  memset(&tftp_server, 0, sizeof(tftp_server));
  if (m->UsingIpv6) {
    /* The Boot File URL, from the proxy's Advertise if one came, else the Reply. */
    UINTN n = 0;
    const UINT8 *url = m->ProxyOfferReceived ? dhcp6_option(m->ProxyOffer.Raw, 59, &n) : 0;
    if (!url)
      url = dhcp6_option(m->DhcpAck.Raw, 59, &n);
    char auth[80];
    BOOLEAN v6 = 0;
    if (!url || !url_server((const char *)url, n, auth, sizeof auth, tftp_server.v6, &v6) ||
        !v6)
      fail("no-boot-file-url", 0);
    if (!dp_find(dp, DP_MSG_MAC))
      fail("no-mac", 0);
    return;
  }
  /* The boot server: the one whose 4011 reply named us, else the proxy offer's. */
  const UINT8 *from = m->PxeReplyReceived     ? m->PxeReply.Raw
                      : m->ProxyOfferReceived ? m->ProxyOffer.Raw
                                              : m->DhcpAck.Raw;
  for (int i = 0; i < 4; i++)
    tftp_server.v4[i] = from[20 + i];
  ip4_text(tftp_server.v4, server_text);
  if (!dp_find(dp, DP_MSG_MAC))
    memcpy(client_mac, &m->DhcpAck.Raw[28], 6);
}

static void http_open(EFI_DEVICE_PATH_PROTOCOL *dp, const EFI_DEVICE_PATH_PROTOCOL *uri) {
  net_kind = "http";
  UINT8 ip6[16];
  if (!url_server((const char *)uri + 4, dp_len(uri) - 4, http_authority,
                  sizeof http_authority, ip6, &http_v6))
    fail("bad-boot-url", 0);
  const EFI_DEVICE_PATH_PROTOCOL *ip = dp_find(dp, http_v6 ? DP_MSG_IPV6 : DP_MSG_IPV4);
  memset(http_local, 0, sizeof http_local);
  memset(http_mask, 0, sizeof http_mask);
  if (ip && http_v6 && dp_len(ip) >= 20)
    memcpy(http_local, (const UINT8 *)ip + 4, 16);
  if (ip && !http_v6 && dp_len(ip) >= 27) {
    memcpy(http_local, (const UINT8 *)ip + 4, 4);
    memcpy(http_mask, (const UINT8 *)ip + 23, 4);
  }
  /* The HTTP service is on the NIC's handle, a prefix of this device path. */
  EFI_GUID sb_guid = EFI_HTTP_SERVICE_BINDING_PROTOCOL_GUID;
  EFI_DEVICE_PATH_PROTOCOL *rest = dp;
  EFI_HANDLE nic = 0;
  EFI_STATUS s = BS->LocateDevicePath(&sb_guid, &rest, &nic);
  if (!EFI_ERROR(s))
    s = BS->HandleProtocol(nic, &sb_guid, (void **)&http_sb);
  if (EFI_ERROR(s) || !http_sb)
    fail_status("no-http-service", s, 0);
}

static void net_open(EFI_HANDLE device) {
  EFI_GUID dp_guid = EFI_DEVICE_PATH_PROTOCOL_GUID;
  EFI_GUID pxe_guid = EFI_PXE_BASE_CODE_PROTOCOL_GUID;
  EFI_DEVICE_PATH_PROTOCOL *dp = 0;
  if (EFI_ERROR(BS->HandleProtocol(device, &dp_guid, (void **)&dp)))
    dp = 0;
  const EFI_DEVICE_PATH_PROTOCOL *mac = dp_find(dp, DP_MSG_MAC);
  if (mac)
    memcpy(client_mac, (const UINT8 *)mac + 4, 6);
  EFI_STATUS s = BS->HandleProtocol(device, &pxe_guid, (void **)&pxe);
  if (!EFI_ERROR(s) && pxe) {
    pxe_open(dp);
    return;
  }
  const EFI_DEVICE_PATH_PROTOCOL *uri = dp_find(dp, DP_MSG_URI);
  if (!uri || dp_len(uri) <= 4)
    fail_status("no-pxe-protocol", s, 0);
  if (!mac)
    fail("no-mac", 0);
  http_open(dp, uri);
}

/* ---- HTTP ---- */
/* Polls the HTTP instance until the token's event is signalled, at most `secs`. */
static EFI_STATUS http_wait(EFI_HTTP_PROTOCOL *h, EFI_HTTP_TOKEN *t, UINT32 secs) {
  EFI_EVENT timer = 0;
  EFI_STATUS s = BS->CreateEvent(0x80000000u /* EVT_TIMER */, 0, 0, 0, &timer);
  if (EFI_ERROR(s))
    return s;
  BS->SetTimer(timer, TimerRelative, (UINT64)secs * 10000000u);
  s = EFI_SUCCESS;
  while (BS->CheckEvent(t->Event) != EFI_SUCCESS) {
    if (BS->CheckEvent(timer) == EFI_SUCCESS) {
      h->Cancel(h, t);
      s = EFI_TIMEOUT;
      break;
    }
    h->Poll(h);
  }
  BS->CloseEvent(timer);
  return EFI_ERROR(s) ? s : t->Status;
}

static int ascii_ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
    char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;
    if (x != y)
      return 0;
  }
  return *a == *b;
}

/* GET http://<authority>/<path> into buf (at most *size bytes; *size gets what came).
 * EFI_NOT_FOUND when the server answered with anything but 200. */
static EFI_STATUS http_get(const char *path, UINT8 *buf, UINT64 *size) {
  EFI_GUID http_guid = EFI_HTTP_PROTOCOL_GUID;
  EFI_HANDLE child = 0;
  EFI_HTTP_PROTOCOL *h = 0;
  EFI_EVENT done = 0;
  EFI_STATUS s = http_sb->CreateChild(http_sb, &child);
  if (EFI_ERROR(s))
    return s;
  s = BS->HandleProtocol(child, &http_guid, (void **)&h);
  if (!EFI_ERROR(s))
    s = BS->CreateEvent(0, 0, 0, 0, &done);
  EFI_HTTPv4_ACCESS_POINT ap4;
  EFI_HTTPv6_ACCESS_POINT ap6;
  EFI_HTTP_CONFIG_DATA cfg;
  memset(&ap4, 0, sizeof ap4);
  memset(&ap6, 0, sizeof ap6);
  memset(&cfg, 0, sizeof cfg);
  cfg.HttpVersion = HttpVersion11;
  cfg.TimeOutMillisec = 10000;
  cfg.LocalAddressIsIPv6 = http_v6;
  if (http_v6) {
    memcpy(ap6.LocalAddress, http_local, 16);
    cfg.AccessPoint.IPv6Node = &ap6;
  } else {
    /* The address the firmware got, else the IPv4 stack's default. */
    ap4.UseDefaultAddress = !(http_local[0] | http_mask[0]);
    memcpy(ap4.LocalAddress, http_local, 4);
    memcpy(ap4.LocalSubnet, http_mask, 4);
    cfg.AccessPoint.IPv4Node = &ap4;
  }
  if (!EFI_ERROR(s))
    s = h->Configure(h, &cfg);

  CHAR16 url[320];
  UINTN n = 0;
  const char *parts[4] = {"http://", http_authority, "/", path};
  for (int p = 0; p < 4; p++)
    for (const char *c = parts[p]; *c && n < 318; c++)
      url[n++] = (CHAR16)(UINT8)*c;
  url[n] = 0;
  EFI_HTTP_REQUEST_DATA req = {HttpMethodGet, url};
  EFI_HTTP_HEADER headers[2] = {{"Host", http_authority}, {"Accept", "*/*"}};
  EFI_HTTP_MESSAGE msg;
  memset(&msg, 0, sizeof msg);
  msg.Data.Request = &req;
  msg.HeaderCount = 2;
  msg.Headers = headers;
  EFI_HTTP_TOKEN tok = {done, EFI_NOT_READY, &msg};
  if (!EFI_ERROR(s))
    s = h->Request(h, &tok);
  if (!EFI_ERROR(s))
    s = http_wait(h, &tok, 30);

  /* The status line and headers, and what of the body came with them. */
  EFI_HTTP_RESPONSE_DATA rsp = {0};
  UINT64 got = 0, want = *size;
  if (!EFI_ERROR(s)) {
    memset(&msg, 0, sizeof msg);
    msg.Data.Response = &rsp;
    msg.Body = buf;
    msg.BodyLength = (UINTN)*size;
    tok.Status = EFI_NOT_READY;
    s = h->Response(h, &tok);
    if (!EFI_ERROR(s))
      s = http_wait(h, &tok, 30);
    if (rsp.StatusCode && rsp.StatusCode != HTTP_STATUS_200_OK)
      s = EFI_NOT_FOUND;
  }
  if (!EFI_ERROR(s)) {
    got = msg.BodyLength;
    for (UINTN i = 0; i < msg.HeaderCount; i++)
      if (ascii_ieq(msg.Headers[i].FieldName, "Content-Length")) {
        UINT64 v = 0;
        for (const char *c = msg.Headers[i].FieldValue; *c >= '0' && *c <= '9'; c++)
          v = v * 10 + (UINT64)(*c - '0');
        want = v < *size ? v : *size;
      }
  }
  /* The rest of the body. */
  while (!EFI_ERROR(s) && got < want) {
    memset(&msg, 0, sizeof msg);
    msg.Body = buf + got;
    msg.BodyLength = (UINTN)(*size - got);
    tok.Status = EFI_NOT_READY;
    s = h->Response(h, &tok);
    if (!EFI_ERROR(s))
      s = http_wait(h, &tok, 30);
    if (!EFI_ERROR(s) && msg.BodyLength == 0)
      break;
    got += msg.BodyLength;
  }
  *size = got;
  if (done)
    BS->CloseEvent(done);
  http_sb->DestroyChild(http_sb, child);
  return s;
}

/* One file from the server that served the boot program. */
static EFI_STATUS net_read(const char *path, void *buf, UINT64 *size, UINTN *blksize) {
  if (pxe)
    return pxe->Mtftp(pxe, EFI_PXE_BASE_CODE_TFTP_READ_FILE, buf, 0, size, blksize,
                      &tftp_server, (UINT8 *)path, 0, 0);
  if (blksize)
    *blksize = 0;
  return http_get(path, buf, size);
}

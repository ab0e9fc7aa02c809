/* pxelab's UEFI network boot program (x64, IA32 and ARM64 from this one source).
 *
 * Started by the firmware's PXE boot (OVMF, OVMF IA32, AAVMF; over IPv4 or IPv6) or by
 * its UEFI HTTP boot (IPv4 or IPv6), it plays the part of Configuration Manager's boot
 * manager: it reads its per-client parameters from the responder that served it
 * (smstemp/<mac>.<class>.var: over TFTP through the firmware's own PXE base code
 * protocol, or over HTTP through its HTTP protocol from the server in its own URL;
 * see netfetch.h), shows the network boot prompt for an
 * available deployment, downloads the boot image with the block size the responder
 * asks for, checks its size and CRC-32, prints the outcome on the console and powers
 * the machine off. The markers (one line each) are what the lab reads:
 *   PXELAB START firmware=<class>
 *   PXELAB PROMPT image=<id> deployment=<id>
 *   PXELAB DECLINED image=<id> deployment=<id> server=<ip>
 *   PXELAB BOOTED image=<id> deployment=<id> bytes=<n> crc32=<hex> server=<ip> class=<class> blksize=<n>
 *   PXELAB NOACTION class=<class>
 *   PXELAB FAILED reason=<why> [image=<id> deployment=<id> server=<ip>]
 * <ip> is an IPv4 address, or an IPv6 one in its shortest form (RFC 5952); over HTTP
 * blksize is 0.
 */
#include "efi.h"

#ifndef PXELAB_CLASS
#error "build with -DPXELAB_CLASS=\"uefi-x64\" (or uefi-ia32, uefi-arm64)"
#endif

static EFI_SYSTEM_TABLE *ST;
static EFI_BOOT_SERVICES *BS;

/* The compiler may emit calls to these for copies and clears. */
void *memset(void *d, int c, UINTN n) {
  UINT8 *p = d;
  while (n--)
    *p++ = (UINT8)c;
  return d;
}
void *memcpy(void *d, const void *s, UINTN n) {
  UINT8 *p = d;
  const UINT8 *q = s;
  while (n--)
    *p++ = *q++;
  return d;
}

/* ---- console ---- */
static void puts_ascii(const char *s) {
  CHAR16 buf[128];
  while (*s) {
    UINTN n = 0;
    while (*s && n < 126) {
      if (*s == '\n')
        buf[n++] = '\r';
      buf[n++] = (CHAR16)(UINT8)*s++;
    }
    buf[n] = 0;
    ST->ConOut->OutputString(ST->ConOut, buf);
  }
}

/* A line under construction. */
static char line[512];
static UINTN line_len;
static void add(const char *s) {
  while (*s && line_len < sizeof(line) - 2)
    line[line_len++] = *s++;
}
static void add_u32(UINT32 v) {
  char t[11];
  int i = 10;
  t[i] = 0;
  do {
    t[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  add(t + i);
}
static void add_hex32(UINT32 v) {
  char t[9];
  for (int i = 7; i >= 0; i--) {
    t[i] = "0123456789abcdef"[v & 15];
    v >>= 4;
  }
  t[8] = 0;
  add(t);
}
static void flush(void) {
  line[line_len++] = '\n';
  line[line_len] = 0;
  puts_ascii(line);
  line_len = 0;
}

/* ---- power ---- */
#if defined(__x86_64__) || defined(__i386__)
static void outb(UINT16 port, UINT8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
#endif

static void power_off(void) {
#if defined(__x86_64__) || defined(__i386__)
  /* QEMU's isa-debug-exit: QEMU exits at once. */
  outb(0x501, 0);
#endif
  /* ARM64 (PSCI SYSTEM_OFF in AAVMF), or x86 without the debug exit device. */
  ST->RuntimeServices->ResetSystem(EfiResetShutdown, EFI_SUCCESS, 0, 0);
  for (;;) {
  }
}

/* What the parameters named, for the FAILED marker once they are known. */
static char deployment[64];
/* The boot server as the markers name it (set by netfetch.h). */
static char server_text[48];

static void fail(const char *why, const char *image) {
  add("PXELAB FAILED reason=");
  add(why);
  if (image && *image) {
    add(" image=");
    add(image);
    add(" deployment=");
    add(deployment);
    add(" server=");
    add(server_text);
  }
  flush();
  power_off();
}

static void fail_status(const char *what, EFI_STATUS s, const char *image) {
  char r[64];
  UINTN n = 0;
  while (*what && n < 40)
    r[n++] = *what++;
  r[n++] = '-';
  r[n++] = '0';
  r[n++] = 'x';
  UINT32 v = (UINT32)(s & 0xffff);
  for (int i = 3; i >= 0; i--)
    r[n + i] = "0123456789abcdef"[(v >> (4 * (3 - i))) & 15];
  n += 4;
  r[n] = 0;
  fail(r, image);
}

#include "netfetch.h"

/* ---- CRC-32 (IEEE 802.3, as zlib) ---- */
static UINT32 crc_table[256];
static void crc_init(void) {
  for (UINT32 i = 0; i < 256; i++) {
    UINT32 c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}
static UINT32 crc32(const UINT8 *p, UINTN n) {
  UINT32 c = 0xFFFFFFFFu;
  while (n--)
    c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/* ---- parameters ---- */
static char params[4096];
static UINTN params_len;

/* The value of `key=` in the parameters, as a pointer and length (0 if absent). */
static const char *param(const char *key, UINTN *len) {
  UINTN k = 0;
  while (key[k])
    k++;
  UINTN i = 0;
  while (i < params_len) {
    UINTN end = i;
    while (end < params_len && params[end] != '\n' && params[end] != '\r')
      end++;
    if (end - i > k && params[i + k] == '=') {
      UINTN j = 0;
      while (j < k && params[i + j] == key[j])
        j++;
      if (j == k) {
        *len = end - i - k - 1;
        return &params[i + k + 1];
      }
    }
    i = end + 1;
  }
  *len = 0;
  return 0;
}

/* A copy of a parameter, NUL-terminated, into `out` (at most cap-1 bytes). */
static int param_str(const char *key, char *out, UINTN cap) {
  UINTN n;
  const char *v = param(key, &n);
  if (!v || n >= cap) {
    out[0] = 0;
    return 0;
  }
  for (UINTN i = 0; i < n; i++)
    out[i] = v[i];
  out[n] = 0;
  return 1;
}

static int param_u32(const char *key, UINT32 *out) {
  UINTN n;
  const char *v = param(key, &n);
  if (!v || n == 0 || n > 10)
    return 0;
  UINT32 x = 0;
  for (UINTN i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9')
      return 0;
    x = x * 10 + (UINT32)(v[i] - '0');
  }
  *out = x;
  return 1;
}

static int param_hex32(const char *key, UINT32 *out) {
  UINTN n;
  const char *v = param(key, &n);
  if (!v || n == 0 || n > 8)
    return 0;
  UINT32 x = 0;
  for (UINTN i = 0; i < n; i++) {
    char c = v[i];
    UINT32 d;
    if (c >= '0' && c <= '9')
      d = (UINT32)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (UINT32)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = (UINT32)(c - 'A' + 10);
    else
      return 0;
    x = (x << 4) | d;
  }
  *out = x;
  return 1;
}

/* ---- the prompt: any key within 4 s ---- */
static int key_pressed(UINT32 ms) {
  EFI_INPUT_KEY k;
  for (UINT32 t = 0; t < ms; t += 50) {
    if (ST->ConIn->ReadKeyStroke(ST->ConIn, &k) == EFI_SUCCESS)
      return 1;
    BS->Stall(50000);
  }
  return 0;
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st) {
  ST = st;
  BS = st->BootServices;
  BS->SetWatchdogTimer(0, 0, 0, 0);
  crc_init();
  puts_ascii("\n");
  add("PXELAB START firmware=" PXELAB_CLASS);
  flush();

  EFI_GUID li_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
  EFI_LOADED_IMAGE_PROTOCOL *li = 0;
  EFI_STATUS s = BS->HandleProtocol(image, &li_guid, (void **)&li);
  if (EFI_ERROR(s) || !li)
    fail_status("no-loaded-image", s, 0);
  net_open(li->DeviceHandle);

  /* smstemp/<mac>.<class>.var */
  char name[96];
  UINTN n = 0;
  const char *pre = "smstemp/";
  while (*pre)
    name[n++] = *pre++;
  for (int i = 0; i < 6; i++) {
    name[n++] = "0123456789abcdef"[client_mac[i] >> 4];
    name[n++] = "0123456789abcdef"[client_mac[i] & 15];
  }
  const char *suf = "." PXELAB_CLASS ".var";
  while (*suf)
    name[n++] = *suf++;
  name[n] = 0;

  UINT64 size = sizeof(params) - 1;
  s = net_read(name, params, &size, 0);
  if (EFI_ERROR(s)) {
    add("PXELAB NOACTION class=" PXELAB_CLASS);
    flush();
    power_off();
  }
  params_len = (UINTN)size;
  params[params_len] = 0;

  char image_id[64], path[200];
  UINT32 image_size = 0, crc_want = 0, blksize = 512, prompt = 0;
  if (!param_str("boot_image", image_id, sizeof image_id) ||
      !param_str("deployment", deployment, sizeof deployment) ||
      !param_str("image_path", path, sizeof path) || !param_u32("image_size", &image_size))
    fail("bad-parameters", 0);
  int have_crc = param_hex32("image_crc32", &crc_want);
  param_u32("tftp_block_size", &blksize);
  param_u32("prompt", &prompt);

  if (prompt) {
    add("PXELAB PROMPT image=");
    add(image_id);
    add(" deployment=");
    add(deployment);
    flush();
    puts_ascii("Press ENTER for network boot service\n");
    if (!key_pressed(4000)) {
      add("PXELAB DECLINED image=");
      add(image_id);
      add(" deployment=");
      add(deployment);
      add(" server=");
      add(server_text);
      flush();
      power_off();
    }
  }

  /* The boot image, whole, into memory, with the responder's block size. */
  UINTN pages = ((UINTN)image_size + 4095) / 4096 + 1;
  UINT64 addr = 0;
  s = BS->AllocatePages(AllocateAnyPages, EfiLoaderData, pages, &addr);
  if (EFI_ERROR(s))
    fail_status("no-memory", s, image_id);
  UINT8 *buf = (UINT8 *)(UINTN)addr;
  UINT64 got = (UINT64)pages * 4096;
  UINTN bs = blksize < 512 ? 512 : blksize;
  s = net_read(path, buf, &got, &bs);
  if (EFI_ERROR(s))
    fail_status(net_kind, s, image_id);
  if (got != image_size)
    fail("size-mismatch", image_id);
  UINT32 crc = crc32(buf, (UINTN)got);
  if (have_crc && crc != crc_want)
    fail("crc-mismatch", image_id);
  add("PXELAB BOOTED image=");
  add(image_id);
  add(" deployment=");
  add(deployment);
  add(" bytes=");
  add_u32((UINT32)got);
  add(" crc32=");
  add_hex32(crc);
  add(" server=");
  add(server_text);
  add(" class=" PXELAB_CLASS " blksize=");
  add_u32((UINT32)bs);
  flush();
  power_off();
  return EFI_SUCCESS;
}

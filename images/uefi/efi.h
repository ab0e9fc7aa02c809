/* The few UEFI types pxelab's boot program uses, written from the UEFI 2.x
 * specification (system table, boot and runtime services, simple text I/O, the loaded
 * image, device path, PXE base code, service binding and HTTP protocols). Only what is
 * called is typed; the rest of each table is padding of the right size. */
#ifndef PXELAB_EFI_H
#define PXELAB_EFI_H

typedef unsigned char UINT8;
typedef unsigned short UINT16;
typedef unsigned int UINT32;
typedef unsigned long long UINT64;
typedef __SIZE_TYPE__ UINTN;
typedef UINT8 BOOLEAN;
typedef UINT16 CHAR16;
typedef UINTN EFI_STATUS;
typedef void *EFI_HANDLE;
typedef void *EFI_EVENT;

#define EFIAPI
#define EFI_SUCCESS 0
#define EFI_ERROR_BIT ((UINTN)1 << (sizeof(UINTN) * 8 - 1))
#define EFI_ERROR(s) (((s) & EFI_ERROR_BIT) != 0)

typedef struct {
  UINT32 Data1;
  UINT16 Data2;
  UINT16 Data3;
  UINT8 Data4[8];
} EFI_GUID;

typedef struct {
  UINT64 Signature;
  UINT32 Revision;
  UINT32 HeaderSize;
  UINT32 CRC32;
  UINT32 Reserved;
} EFI_TABLE_HEADER;

typedef struct {
  UINT16 ScanCode;
  CHAR16 UnicodeChar;
} EFI_INPUT_KEY;

struct SIMPLE_INPUT;
typedef struct SIMPLE_INPUT {
  EFI_STATUS(EFIAPI *Reset)(struct SIMPLE_INPUT *This, BOOLEAN Extended);
  EFI_STATUS(EFIAPI *ReadKeyStroke)(struct SIMPLE_INPUT *This, EFI_INPUT_KEY *Key);
  EFI_EVENT WaitForKey;
} EFI_SIMPLE_TEXT_INPUT_PROTOCOL;

struct SIMPLE_OUTPUT;
typedef struct SIMPLE_OUTPUT {
  EFI_STATUS(EFIAPI *Reset)(struct SIMPLE_OUTPUT *This, BOOLEAN Extended);
  EFI_STATUS(EFIAPI *OutputString)(struct SIMPLE_OUTPUT *This, CHAR16 *String);
  /* TestString, QueryMode, SetMode, SetAttribute, ClearScreen, SetCursorPosition,
   * EnableCursor, Mode: not used. */
} EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL;

typedef enum { EfiResetCold, EfiResetWarm, EfiResetShutdown } EFI_RESET_TYPE;

typedef struct {
  EFI_TABLE_HEADER Hdr;
  void *GetTime, *SetTime, *GetWakeupTime, *SetWakeupTime;
  void *SetVirtualAddressMap, *ConvertPointer;
  void *GetVariable, *GetNextVariableName, *SetVariable;
  void *GetNextHighMonotonicCount;
  void(EFIAPI *ResetSystem)(EFI_RESET_TYPE Type, EFI_STATUS Status, UINTN DataSize,
                            void *Data);
} EFI_RUNTIME_SERVICES;

typedef enum { TimerCancel, TimerPeriodic, TimerRelative } EFI_TIMER_DELAY;
#define TPL_CALLBACK 8
#define EFI_NOT_READY (EFI_ERROR_BIT | 6)
#define EFI_TIMEOUT (EFI_ERROR_BIT | 18)
#define EFI_NOT_FOUND (EFI_ERROR_BIT | 14)

struct DEVICE_PATH;

typedef enum { AllocateAnyPages, AllocateMaxAddress, AllocateAddress } EFI_ALLOCATE_TYPE;
#define EfiLoaderData 2

typedef struct {
  EFI_TABLE_HEADER Hdr;
  void *RaiseTPL, *RestoreTPL;
  EFI_STATUS(EFIAPI *AllocatePages)(EFI_ALLOCATE_TYPE Type, UINT32 MemoryType,
                                    UINTN Pages, UINT64 *Memory);
  void *FreePages, *GetMemoryMap, *AllocatePool, *FreePool;
  EFI_STATUS(EFIAPI *CreateEvent)(UINT32 Type, UINTN NotifyTpl, void *NotifyFunction,
                                  void *NotifyContext, EFI_EVENT *Event);
  EFI_STATUS(EFIAPI *SetTimer)(EFI_EVENT Event, EFI_TIMER_DELAY Type, UINT64 TriggerTime);
  void *WaitForEvent, *SignalEvent;
  EFI_STATUS(EFIAPI *CloseEvent)(EFI_EVENT Event);
  EFI_STATUS(EFIAPI *CheckEvent)(EFI_EVENT Event);
  void *InstallProtocolInterface, *ReinstallProtocolInterface, *UninstallProtocolInterface;
  EFI_STATUS(EFIAPI *HandleProtocol)(EFI_HANDLE Handle, EFI_GUID *Protocol,
                                     void **Interface);
  void *Reserved, *RegisterProtocolNotify, *LocateHandle;
  EFI_STATUS(EFIAPI *LocateDevicePath)(EFI_GUID *Protocol,
                                       struct DEVICE_PATH **DevicePath, EFI_HANDLE *Device);
  void *InstallConfigurationTable;
  void *LoadImage, *StartImage, *Exit, *UnloadImage, *ExitBootServices;
  void *GetNextMonotonicCount;
  EFI_STATUS(EFIAPI *Stall)(UINTN Microseconds);
  EFI_STATUS(EFIAPI *SetWatchdogTimer)(UINTN Timeout, UINT64 WatchdogCode,
                                       UINTN DataSize, CHAR16 *WatchdogData);
} EFI_BOOT_SERVICES;

typedef struct {
  EFI_TABLE_HEADER Hdr;
  CHAR16 *FirmwareVendor;
  UINT32 FirmwareRevision;
  EFI_HANDLE ConsoleInHandle;
  EFI_SIMPLE_TEXT_INPUT_PROTOCOL *ConIn;
  EFI_HANDLE ConsoleOutHandle;
  EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL *ConOut;
  EFI_HANDLE StandardErrorHandle;
  EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL *StdErr;
  EFI_RUNTIME_SERVICES *RuntimeServices;
  EFI_BOOT_SERVICES *BootServices;
  UINTN NumberOfTableEntries;
  void *ConfigurationTable;
} EFI_SYSTEM_TABLE;

#define EFI_LOADED_IMAGE_PROTOCOL_GUID                                                \
  {0x5B1B31A1, 0x9562, 0x11d2, {0x8E, 0x3F, 0x00, 0xA0, 0xC9, 0x69, 0x72, 0x3B}}

/* A device path node: a header; the node's data follows it. */
typedef struct DEVICE_PATH {
  UINT8 Type, SubType, Length[2];
} EFI_DEVICE_PATH_PROTOCOL;
#define EFI_DEVICE_PATH_PROTOCOL_GUID                                                 \
  {0x09576E91, 0x6D3F, 0x11d2, {0x8E, 0x39, 0x00, 0xA0, 0xC9, 0x69, 0x72, 0x3B}}
#define DP_MESSAGING 3
#define DP_END 0x7F
#define DP_MSG_MAC 11  /* MAC[32], IfType */
#define DP_MSG_IPV4 12 /* Local[4], Remote[4], ports, protocol, static, gateway[4], mask[4] */
#define DP_MSG_IPV6 13 /* Local[16], Remote[16], ports, protocol, origin, prefix, gateway */
#define DP_MSG_URI 24  /* the URI, ASCII, not NUL-terminated */

typedef struct {
  UINT32 Revision;
  EFI_HANDLE ParentHandle;
  EFI_SYSTEM_TABLE *SystemTable;
  EFI_HANDLE DeviceHandle;
  /* FilePath, Reserved, LoadOptionsSize, LoadOptions, ImageBase, ImageSize, ...:
   * not used. */
} EFI_LOADED_IMAGE_PROTOCOL;

#define EFI_PXE_BASE_CODE_PROTOCOL_GUID                                               \
  {0x03C4E603, 0xAC28, 0x11d3, {0x9A, 0x2D, 0x00, 0x90, 0x27, 0x3F, 0xC1, 0x4D}}

typedef union {
  UINT32 Addr[4];
  UINT8 v4[4];
  UINT8 v6[16];
} EFI_IP_ADDRESS;

/* A DHCP/BOOTP packet as the firmware keeps it: the wire layout (siaddr at byte 20,
 * chaddr at byte 28); under IPv6 a DHCPv6 message (type, transaction id, options from
 * byte 4). */
typedef union {
  UINT8 Raw[1472];
  UINT32 Align;
} EFI_PXE_BASE_CODE_PACKET;

typedef struct {
  BOOLEAN Started, Ipv6Available, Ipv6Supported, UsingIpv6, BisSupported, BisDetected,
      AutoArp, SendGUID, DhcpDiscoverValid, DhcpAckReceived, ProxyOfferReceived,
      PxeDiscoverValid, PxeReplyReceived, PxeBisReplyReceived, IcmpErrorReceived,
      TftpErrorReceived, MakeCallbacks;
  UINT8 TTL;
  UINT8 ToS;
  EFI_IP_ADDRESS StationIp;
  EFI_IP_ADDRESS SubnetMask;
  EFI_PXE_BASE_CODE_PACKET DhcpDiscover;
  EFI_PXE_BASE_CODE_PACKET DhcpAck;
  EFI_PXE_BASE_CODE_PACKET ProxyOffer;
  EFI_PXE_BASE_CODE_PACKET PxeDiscover;
  EFI_PXE_BASE_CODE_PACKET PxeReply;
  /* PxeBisReply, filters, caches, errors: not used. */
} EFI_PXE_BASE_CODE_MODE;

typedef enum {
  EFI_PXE_BASE_CODE_TFTP_FIRST,
  EFI_PXE_BASE_CODE_TFTP_GET_FILE_SIZE,
  EFI_PXE_BASE_CODE_TFTP_READ_FILE,
  EFI_PXE_BASE_CODE_TFTP_WRITE_FILE,
  EFI_PXE_BASE_CODE_TFTP_READ_DIRECTORY,
} EFI_PXE_BASE_CODE_TFTP_OPCODE;

struct PXE_BASE_CODE;
typedef struct PXE_BASE_CODE {
  UINT64 Revision;
  void *Start, *Stop, *Dhcp, *Discover;
  EFI_STATUS(EFIAPI *Mtftp)(struct PXE_BASE_CODE *This, EFI_PXE_BASE_CODE_TFTP_OPCODE Operation,
                            void *BufferPtr, BOOLEAN Overwrite, UINT64 *BufferSize,
                            UINTN *BlockSize, EFI_IP_ADDRESS *ServerIp, UINT8 *Filename,
                            void *Info, BOOLEAN DontUseBuffer);
  void *UdpWrite, *UdpRead, *SetIpFilter, *Arp, *SetParameters, *SetStationIp, *SetPackets;
  EFI_PXE_BASE_CODE_MODE *Mode;
} EFI_PXE_BASE_CODE_PROTOCOL;


typedef struct SERVICE_BINDING {
  EFI_STATUS(EFIAPI *CreateChild)(struct SERVICE_BINDING *This, EFI_HANDLE *Child);
  EFI_STATUS(EFIAPI *DestroyChild)(struct SERVICE_BINDING *This, EFI_HANDLE Child);
} EFI_SERVICE_BINDING_PROTOCOL;

#define EFI_HTTP_SERVICE_BINDING_PROTOCOL_GUID                                        \
  {0xbdc8e6af, 0xd9bc, 0x4379, {0xa7, 0x2a, 0xe0, 0xc4, 0xe7, 0x5d, 0xae, 0x1c}}
#define EFI_HTTP_PROTOCOL_GUID                                                        \
  {0x7a59b29b, 0x910b, 0x4171, {0x82, 0x42, 0xa8, 0x5a, 0x0d, 0xf2, 0x5b, 0x5b}}

typedef enum { HttpVersion10, HttpVersion11 } EFI_HTTP_VERSION;
typedef enum { HttpMethodGet } EFI_HTTP_METHOD;
/* EFI_HTTP_STATUS_CODE: an enumeration in the order of the codes, not the codes. */
#define HTTP_STATUS_200_OK 3
#define HTTP_STATUS_404_NOT_FOUND 21

typedef struct {
  BOOLEAN UseDefaultAddress;
  UINT8 LocalAddress[4];
  UINT8 LocalSubnet[4];
  UINT16 LocalPort;
} EFI_HTTPv4_ACCESS_POINT;
typedef struct {
  UINT8 LocalAddress[16];
  UINT16 LocalPort;
} EFI_HTTPv6_ACCESS_POINT;
typedef struct {
  EFI_HTTP_VERSION HttpVersion;
  UINT32 TimeOutMillisec;
  BOOLEAN LocalAddressIsIPv6;
  union {
    EFI_HTTPv4_ACCESS_POINT *IPv4Node;
    EFI_HTTPv6_ACCESS_POINT *IPv6Node;
  } AccessPoint;
} EFI_HTTP_CONFIG_DATA;
typedef struct {
  EFI_HTTP_METHOD Method;
  CHAR16 *Url;
} EFI_HTTP_REQUEST_DATA;
typedef struct {
  UINT32 StatusCode;
} EFI_HTTP_RESPONSE_DATA;
typedef struct {
  char *FieldName;
  char *FieldValue;
} EFI_HTTP_HEADER;
typedef struct {
  union {
    EFI_HTTP_REQUEST_DATA *Request;
    EFI_HTTP_RESPONSE_DATA *Response;
  } Data;
  UINTN HeaderCount;
  EFI_HTTP_HEADER *Headers;
  UINTN BodyLength;
  void *Body;
} EFI_HTTP_MESSAGE;
typedef struct {
  EFI_EVENT Event;
  EFI_STATUS Status;
  EFI_HTTP_MESSAGE *Message;
} EFI_HTTP_TOKEN;

struct HTTP;
typedef struct HTTP {
  void *GetModeData;
  EFI_STATUS(EFIAPI *Configure)(struct HTTP *This, EFI_HTTP_CONFIG_DATA *Config);
  EFI_STATUS(EFIAPI *Request)(struct HTTP *This, EFI_HTTP_TOKEN *Token);
  EFI_STATUS(EFIAPI *Cancel)(struct HTTP *This, EFI_HTTP_TOKEN *Token);
  EFI_STATUS(EFIAPI *Response)(struct HTTP *This, EFI_HTTP_TOKEN *Token);
  EFI_STATUS(EFIAPI *Poll)(struct HTTP *This);
} EFI_HTTP_PROTOCOL;

#endif

; pxelab's BIOS network boot program (the first stage a BIOS client downloads).
;
; Loaded by the PXE ROM (SeaBIOS + iPXE here) at 0000:7C00 in real mode, with ES:BX
; pointing to the PXENV+ structure and the !PXE structure's address at [SS:SP+4]. Like
; Configuration Manager's wdsnbp.com it learns the CPU (CPUID long mode: x64 or x86)
; and asks the responder for what to do, here the per-client parameters
; smstemp/<mac>.bios-x64.var (or .bios-x86.var). It then shows the network boot prompt
; for an available deployment, downloads the boot image with the responder's block size
; through the PXE API (TFTP_OPEN / TFTP_READ / TFTP_CLOSE), streaming a CRC-32 over it,
; prints the outcome on COM1 and powers the machine off through QEMU's isa-debug-exit.
; Markers, one line each, as the UEFI program (images/uefi/bootprog.c):
;   PXELAB START firmware=bios
;   PXELAB PROMPT image=<id> deployment=<id>
;   PXELAB DECLINED image=<id> deployment=<id> server=<ip>
;   PXELAB BOOTED image=<id> deployment=<id> bytes=<n> crc32=<hex> server=<ip> class=<c> blksize=<n>
;   PXELAB NOACTION class=<c>
;   PXELAB FAILED reason=<why> [image=<id> deployment=<id> server=<ip>]

        bits 16
        cpu 686
        org 0x7C00

COM1            equ 0x3F8
CRC_TABLE       equ 0xA000          ; 1 KiB, linear, DS = 0
PARAMS          equ 0xB000          ; the parameters file (at most 4 KiB)
PARAMS_MAX      equ 0x1000
PKT_SEG         equ 0x2000          ; TFTP packets land at 2000:0000 (64 KiB free)

PXENV_GET_CACHED_INFO equ 0x0071
PXENV_TFTP_OPEN       equ 0x0020
PXENV_TFTP_CLOSE      equ 0x0021
PXENV_TFTP_READ       equ 0x0022

start:
        cli
        xor ax, ax
        mov ds, ax
        ; The !PXE structure's address is at [SS:SP+4]; PXENV+ at ES:BX.
        mov bp, sp
        mov ax, [ss:bp+4]
        mov [pxe_ptr], ax
        mov ax, [ss:bp+6]
        mov [pxe_ptr+2], ax
        mov [pxenv_ptr], bx
        mov [pxenv_ptr+2], es
        ; Our own stack below the program.
        xor ax, ax
        mov ss, ax
        mov sp, 0x7C00
        mov es, ax
        sti
        cld

        mov si, s_start
        call puts
        call crlf

        call find_pxe_entry
        call crc_init

        ; The DHCP ACK (type 2): our MAC; the boot server's reply (type 3): its address.
        mov word [gci_type], 2
        call get_cached
        jc .no_cache
        push ds
        mov ds, dx
        mov si, bx
        add si, 28
        mov di, mac
        movsd
        movsw
        mov si, bx
        add si, 20
        mov di, server
        movsd
        pop ds
        mov word [gci_type], 3
        call get_cached
        jc .have_server
        push ds
        mov ds, dx
        mov eax, [bx+20]
        pop ds
        test eax, eax
        jz .have_server
        mov [server], eax
.have_server:
        ; CPUID: long mode means x64.
        mov word [class_ptr], s_class_x86
        mov eax, 0x80000000
        cpuid
        cmp eax, 0x80000001
        jb .class_done
        mov eax, 0x80000001
        cpuid
        bt edx, 29
        jnc .class_done
        mov word [class_ptr], s_class_x64
.class_done:
        ; smstemp/<mac>.<class>.var
        mov di, fname
        mov si, s_smstemp
        call strcpy
        mov si, mac
        mov cx, 6
.hexmac:
        lodsb
        call hexbyte_to_di
        loop .hexmac
        mov al, '.'
        stosb
        mov si, [class_ptr]
        call strcpy
        mov si, s_var
        call strcpy
        mov byte [di], 0

        ; Read the parameters file into PARAMS.
        mov word [want_blksize], 512
        mov dword [expect_size], 0
        mov byte [store_params], 1
        call tftp_get
        jnc .params_ok
        mov si, s_noaction
        call puts
        mov si, [class_ptr]
        call puts
        call crlf
        jmp power_off
.no_cache:
        mov si, s_r_cache
        xor di, di
        jmp fail
.params_ok:
        mov eax, [got_bytes]
        cmp eax, PARAMS_MAX - 1
        jae .bad_params
        mov bx, ax
        mov byte [PARAMS+bx], 0
        mov [params_len], ax

        mov si, k_boot_image
        mov di, image_id
        call param_str
        jc .bad_params
        mov si, k_deployment
        mov di, deployment
        call param_str
        jc .bad_params
        mov si, k_image_path
        mov di, fname
        call param_str
        jc .bad_params
        mov si, k_image_size
        call param_dec
        jc .bad_params
        mov [image_size], eax
        mov byte [have_crc], 0
        mov si, k_image_crc32
        call param_hex
        jc .no_crc
        mov [crc_want], eax
        mov byte [have_crc], 1
.no_crc:
        mov si, k_block_size
        call param_dec
        jc .no_bs
        mov [want_blksize], ax
.no_bs:
        mov si, k_prompt
        call param_dec
        jc .no_prompt
        test eax, eax
        jz .no_prompt
        call prompt
.no_prompt:
        ; The boot image, streamed through the CRC.
        mov eax, [image_size]
        mov [expect_size], eax
        mov byte [store_params], 0
        call tftp_get
        jnc .got_image
        mov si, s_r_tftp
        mov di, image_id
        jmp fail
.bad_params:
        mov si, s_r_params
        xor di, di
        jmp fail
.got_image:
        mov eax, [got_bytes]
        cmp eax, [image_size]
        je .size_ok
        mov si, s_r_size
        mov di, image_id
        jmp fail
.size_ok:
        mov eax, [crc]
        not eax
        mov [crc], eax
        cmp byte [have_crc], 0
        je .report
        cmp eax, [crc_want]
        je .report
        mov si, s_r_crc
        mov di, image_id
        jmp fail
.report:
        mov si, s_booted
        call puts
        call image_and_deployment
        mov si, s_bytes
        call puts
        mov eax, [got_bytes]
        call putdec
        mov si, s_crc
        call puts
        mov eax, [crc]
        call puthex32
        call put_server
        mov si, s_classkv
        call puts
        mov si, [class_ptr]
        call puts
        mov si, s_blksize
        call puts
        movzx eax, word [blksize]
        call putdec
        call crlf
        jmp power_off

; ---------------------------------------------------------------- the prompt
prompt:
        ; Drop what is already in the UART: only a key pressed at the prompt counts.
.drain:
        mov dx, COM1+5
        in al, dx
        test al, 1
        jz .drained
        mov dx, COM1
        in al, dx
        jmp .drain
.drained:
        mov si, s_prompt
        call puts
        call image_and_deployment
        call crlf
        mov si, s_press
        call puts
        call crlf
        ; Wait up to 4 s (73 BIOS ticks) for a key.
        push es
        mov ax, 0x40
        mov es, ax
        mov ebx, [es:0x6C]
        pop es
        add ebx, 73
.wait:
        mov dx, COM1+5
        in al, dx
        test al, 1
        jnz .key
        push es
        mov ax, 0x40
        mov es, ax
        mov eax, [es:0x6C]
        pop es
        cmp eax, ebx
        jb .wait
        mov si, s_declined
        call puts
        call image_and_deployment
        call put_server
        call crlf
        jmp power_off
.key:
        mov dx, COM1
        in al, dx
        ret

; " image=<id> deployment=<id>"
image_and_deployment:
        mov si, s_image
        call puts
        mov si, image_id
        call puts
        mov si, s_deploy
        call puts
        mov si, deployment
        jmp puts

put_server:
        mov si, s_server
        call puts
        mov si, server
        mov cx, 4
.next:
        xor eax, eax
        lodsb
        push si
        push cx
        call putdec
        pop cx
        pop si
        cmp cx, 1
        je .done
        mov al, '.'
        call putc
.done:
        loop .next
        ret

; fail: SI = reason, DI = image_id once the parameters are known, else 0
fail:
        push di
        push si
        mov si, s_failed
        call puts
        pop si
        call puts
        pop di
        test di, di
        jz .end
        call image_and_deployment
        call put_server
.end:
        call crlf
        ; fall through
power_off:
        mov dx, 0x501
        xor al, al
        out dx, al
.halt:
        hlt
        jmp .halt

; ---------------------------------------------------------------- PXE API
find_pxe_entry:
        ; !PXE at pxe_ptr, EntryPointSP at +0x10; else PXENV+ RMEntry at +0x0A.
        les bx, [pxe_ptr]
        cmp dword [es:bx], '!PXE'
        jne .pxenv
        mov eax, [es:bx+0x10]
        mov [entry], eax
        mov byte [use_pxenv], 0
        jmp .done
.pxenv:
        les bx, [pxenv_ptr]
        mov eax, [es:bx+0x0A]
        mov [entry], eax
        mov byte [use_pxenv], 1
.done:
        xor ax, ax
        mov es, ax
        ret

; pxe_call: BX = opcode, DI = parameter block (DS = 0). AX = 0 on success.
pxe_call:
        cmp byte [use_pxenv], 0
        jne .pxenv
        push ds
        push di
        push bx
        call far [entry]
        add sp, 6
        ret
.pxenv:
        push ds
        pop es
        call far [entry]
        push word 0
        pop es
        ret

; get_cached: [gci_type] set; returns DX:BX = packet, CF on failure.
get_cached:
        mov word [gci_status], 0
        mov word [gci_size], 0
        mov dword [gci_buf], 0
        mov word [gci_limit], 0
        mov bx, PXENV_GET_CACHED_INFO
        mov di, gci_status
        call pxe_call
        test ax, ax
        jnz .bad
        cmp word [gci_status], 0
        jne .bad
        mov bx, [gci_buf]
        mov dx, [gci_buf+2]
        mov ax, dx
        or ax, bx
        jz .bad
        clc
        ret
.bad:
        stc
        ret

; tftp_get: fname, want_blksize, expect_size (0: until a short packet), store_params.
; Fills got_bytes, blksize, crc (running, not yet inverted). CF on failure.
tftp_get:
        mov dword [crc], 0xFFFFFFFF
        mov dword [got_bytes], 0
        mov word [to_status], 0
        mov eax, [server]
        mov [to_server], eax
        mov dword [to_gateway], 0
        mov si, fname
        mov di, to_file
        mov cx, 128
        rep movsb
        mov byte [to_file+127], 0
        mov word [to_port], 0           ; 0: the standard port, 69
        mov ax, [want_blksize]
        mov [to_pktsize], ax
        mov bx, PXENV_TFTP_OPEN
        mov di, to_status
        call pxe_call
        test ax, ax
        jnz .fail
        cmp word [to_status], 0
        jne .fail
        mov ax, [to_pktsize]
        mov [blksize], ax
        mov word [tr_pktnum], 0
.read:
        mov word [tr_status], 0
        mov ax, [blksize]
        mov [tr_bufsize], ax
        mov word [tr_buf], 0
        mov word [tr_buf+2], PKT_SEG
        mov bx, PXENV_TFTP_READ
        mov di, tr_status
        call pxe_call
        test ax, ax
        jnz .fail_close
        cmp word [tr_status], 0
        jne .fail_close
        movzx ecx, word [tr_bufsize]
        jcxz .check_end
        cmp byte [store_params], 0
        je .crc
        ; Keep the parameters text.
        mov eax, [got_bytes]
        add eax, ecx
        cmp eax, PARAMS_MAX - 1
        ja .fail_close
        push ds
        push cx
        mov di, PARAMS
        add di, [got_bytes]
        xor si, si
        mov ax, PKT_SEG
        mov ds, ax
        rep movsb
        pop cx
        pop ds
        jmp .count
.crc:
        push cx
        call crc_update
        pop cx
.count:
        add [got_bytes], ecx
.check_end:
        mov eax, [expect_size]
        test eax, eax
        jz .short
        cmp [got_bytes], eax
        jae .done
.short:
        cmp cx, [blksize]
        jb .done
        jmp .read
.done:
        call tftp_close
        clc
        ret
.fail_close:
        call tftp_close
.fail:
        stc
        ret

tftp_close:
        mov word [tc_status], 0
        mov bx, PXENV_TFTP_CLOSE
        mov di, tc_status
        jmp pxe_call

; ---------------------------------------------------------------- CRC-32
crc_init:
        xor ebx, ebx
.entry:
        mov eax, ebx
        mov cx, 8
.bit:
        shr eax, 1
        jnc .nox
        xor eax, 0xEDB88320
.nox:
        loop .bit
        mov [CRC_TABLE+ebx*4], eax
        inc bx
        cmp bx, 256
        jb .entry
        ret

; crc_update: CX bytes at PKT_SEG:0 into [crc].
crc_update:
        push es
        mov ax, PKT_SEG
        mov es, ax
        xor si, si
        mov edx, [crc]
        xor ebx, ebx
.byte:
        mov bl, dl
        xor bl, [es:si]
        shr edx, 8
        xor edx, [CRC_TABLE+ebx*4]
        inc si
        loop .byte
        mov [crc], edx
        pop es
        ret

; ---------------------------------------------------------------- parameters
; param_find: SI = key ("name="). DI = value, CX = its length; CF if absent.
param_find:
        push si
        mov di, PARAMS
.line:
        ; DI at the start of a line: does it start with the key?
        pop si
        push si
        mov bx, di
.cmp:
        lodsb
        test al, al
        jz .found
        cmp al, [bx]
        jne .skip
        inc bx
        jmp .cmp
.found:
        mov di, bx
        xor cx, cx
.len:
        mov al, [bx]
        test al, al
        jz .endval
        cmp al, 10
        je .endval
        cmp al, 13
        je .endval
        inc bx
        inc cx
        jmp .len
.endval:
        pop si
        clc
        ret
.skip:
        ; To the next line.
        mov al, [di]
        test al, al
        jz .absent
        inc di
        cmp al, 10
        jne .skip
        jmp .line
.absent:
        pop si
        stc
        ret

; param_str: SI = key, DI = destination (63 bytes at most). CF if absent or too long.
param_str:
        push di
        call param_find
        pop bx
        jc .ret
        cmp cx, 63
        ja .bad
        mov si, di
        mov di, bx
        rep movsb
        mov byte [di], 0
        clc
.ret:
        ret
.bad:
        stc
        ret

; param_dec: SI = key. EAX = value; CF if absent or not a number.
param_dec:
        call param_find
        jc .ret
        jcxz .bad
        xor eax, eax
.digit:
        movzx edx, byte [di]
        sub dl, '0'
        cmp dl, 9
        ja .bad
        imul eax, eax, 10
        add eax, edx
        inc di
        loop .digit
        clc
.ret:
        ret
.bad:
        stc
        ret

; param_hex: SI = key. EAX = value; CF if absent or not hex.
param_hex:
        call param_find
        jc .ret
        jcxz .bad
        cmp cx, 8
        ja .bad
        xor eax, eax
.digit:
        movzx edx, byte [di]
        cmp dl, '0'
        jb .bad
        cmp dl, '9'
        jbe .num
        or dl, 0x20
        cmp dl, 'a'
        jb .bad
        cmp dl, 'f'
        ja .bad
        sub dl, 'a' - 10
        jmp .add
.num:
        sub dl, '0'
.add:
        shl eax, 4
        or eax, edx
        inc di
        loop .digit
        clc
.ret:
        ret
.bad:
        stc
        ret

; ---------------------------------------------------------------- strings
strcpy:                                 ; SI -> DI, without the NUL
        lodsb
        test al, al
        jz .done
        stosb
        jmp strcpy
.done:
        ret

hexbyte_to_di:                          ; AL as two lower-case hex digits at DI
        push ax
        shr al, 4
        call .nib
        pop ax
        and al, 15
.nib:
        and al, 15
        add al, '0'
        cmp al, '9'
        jbe .st
        add al, 'a' - '9' - 1
.st:
        stosb
        ret

; ---------------------------------------------------------------- serial
putc:                                   ; AL to COM1
        push dx
        push ax
        mov dx, COM1+5
.wait:
        in al, dx
        test al, 0x20
        jz .wait
        pop ax
        mov dx, COM1
        out dx, al
        pop dx
        ret

puts:                                   ; NUL-terminated string at SI
        lodsb
        test al, al
        jz .done
        call putc
        jmp puts
.done:
        ret

crlf:
        mov al, 13
        call putc
        mov al, 10
        jmp putc

putdec:                                 ; EAX, decimal
        mov ecx, 10
        xor bx, bx
.div:
        xor edx, edx
        div ecx
        push dx
        inc bx
        test eax, eax
        jnz .div
.out:
        pop ax
        add al, '0'
        call putc
        dec bx
        jnz .out
        ret

puthex32:                               ; EAX, 8 lower-case hex digits
        mov cx, 8
.nib:
        rol eax, 4
        push eax
        and al, 15
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'a' - '9' - 1
.p:
        call putc
        pop eax
        loop .nib
        ret

; ---------------------------------------------------------------- data
s_start         db 'PXELAB START firmware=bios', 0
s_noaction      db 'PXELAB NOACTION class=', 0
s_prompt        db 'PXELAB PROMPT', 0
s_press         db 'Press ENTER for network boot service', 0
s_declined      db 'PXELAB DECLINED', 0
s_booted        db 'PXELAB BOOTED', 0
s_failed        db 'PXELAB FAILED reason=', 0
s_image         db ' image=', 0
s_deploy        db ' deployment=', 0
s_bytes         db ' bytes=', 0
s_crc           db ' crc32=', 0
s_server        db ' server=', 0
s_classkv       db ' class=', 0
s_blksize       db ' blksize=', 0
s_class_x64     db 'bios-x64', 0
s_class_x86     db 'bios-x86', 0
s_smstemp       db 'smstemp/', 0
s_var           db '.var', 0
s_r_cache       db 'no-cached-info', 0
s_r_params      db 'bad-parameters', 0
s_r_tftp        db 'tftp', 0
s_r_size        db 'size-mismatch', 0
s_r_crc         db 'crc-mismatch', 0
k_boot_image    db 'boot_image=', 0
k_deployment    db 'deployment=', 0
k_image_path    db 'image_path=', 0
k_image_size    db 'image_size=', 0
k_image_crc32   db 'image_crc32=', 0
k_block_size    db 'tftp_block_size=', 0
k_prompt        db 'prompt=', 0

        align 4
pxe_ptr         dd 0
pxenv_ptr       dd 0
entry           dd 0
use_pxenv       db 0
store_params    db 0
have_crc        db 0
                db 0
class_ptr       dw 0
params_len      dw 0
want_blksize    dw 0
blksize         dw 0
mac             times 6 db 0
server          dd 0
image_size      dd 0
expect_size     dd 0
got_bytes       dd 0
crc             dd 0
crc_want        dd 0
image_id        times 64 db 0
deployment      times 64 db 0
fname           times 200 db 0

; s_PXENV_GET_CACHED_INFO
gci_status      dw 0
gci_type        dw 0
gci_size        dw 0
gci_buf         dd 0
gci_limit       dw 0

; s_PXENV_TFTP_OPEN
to_status       dw 0
to_server       dd 0
to_gateway      dd 0
to_file         times 128 db 0
to_port         dw 0
to_pktsize      dw 0

; s_PXENV_TFTP_READ
tr_status       dw 0
tr_pktnum       dw 0
tr_bufsize      dw 0
tr_buf          dd 0

; s_PXENV_TFTP_CLOSE
tc_status       dw 0

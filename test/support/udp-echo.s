# A UDP echo server on port 7, for tests: Linux x86-64 syscalls only, no libc.
        .globl _start
        .text
_start:
        mov     $41, %eax               # socket(AF_INET, SOCK_DGRAM, 0)
        mov     $2, %edi
        mov     $2, %esi
        xor     %edx, %edx
        syscall
        mov     %eax, %r12d
        mov     $49, %eax               # bind(fd, &addr, 16)
        mov     %r12d, %edi
        lea     addr(%rip), %rsi
        mov     $16, %edx
        syscall
again:
        movl    $16, peerlen(%rip)
        mov     $45, %eax               # recvfrom(fd, buf, 2048, 0, &peer, &peerlen)
        mov     %r12d, %edi
        lea     buf(%rip), %rsi
        mov     $2048, %edx
        xor     %r10d, %r10d
        lea     peer(%rip), %r8
        lea     peerlen(%rip), %r9
        syscall
        test    %rax, %rax
        js      again
        mov     %rax, %rdx              # sendto(fd, buf, n, 0, &peer, peerlen)
        mov     $44, %eax
        mov     %r12d, %edi
        lea     buf(%rip), %rsi
        xor     %r10d, %r10d
        lea     peer(%rip), %r8
        mov     peerlen(%rip), %r9d
        syscall
        jmp     again
        .data
addr:   .short  2
        .byte   0, 7
        .long   0
        .quad   0
        .bss
buf:    .skip   2048
peer:   .skip   16
peerlen: .skip  4

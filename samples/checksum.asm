# Internet checksum (RFC 1071) of the buffer at r1 with length r2: the ones' complement of the
# ones' complement sum of its big-endian 16-bit words. Over a valid IPv4 header the answer is 0.
        mov r0, 0
loop:
        jlt r2, 2, tail
        ldxh r4, [r1+0]
        be16 r4                 # the words are in network byte order
        add r0, r4
        add r1, 2
        sub r2, 2
        ja loop
tail:
        jeq r2, 0, fold
        ldxb r4, [r1+0]         # an odd last byte is the high half of a word padded with zero
        lsh r4, 8
        add r0, r4
fold:
        mov r4, r0
        rsh r4, 16
        and r0, 0xffff
        add r0, r4
        mov r4, r0
        rsh r4, 16
        add r0, r4
        and r0, 0xffff
        xor r0, 0xffff
        exit

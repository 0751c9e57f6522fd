/* switch_aarch64.S - context switch for AArch64 AAPCS64 (platform/switch.h).
 *
 * A suspended context is its stack pointer; above it a 176-byte frame:
 *   +0   x19..x28, x29 (fp), x30 (lr)   the callee-saved general registers
 *   +96  d8..d15                        the callee-saved FP registers
 *   +160 FPCR                           the FP control word
 * No signal mask is touched. */
	.text

/* void *mt__ctx_switch(mt__ctx_t *from [x0], mt__ctx_t *to [x1], void *value [x2])
 * value comes out in x0: the return value of the switch being resumed. */
	.globl	mt__ctx_switch
	.hidden	mt__ctx_switch
	.type	mt__ctx_switch, %function
	.p2align 4
mt__ctx_switch:
	.cfi_startproc
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x9, sp
	str	x9, [x0]
	ldr	x9, [x1]
	mov	sp, x9
	ldr	x9, [sp, #160]
	msr	fpcr, x9
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	mov	x0, x2
	ret
	.cfi_endproc
	.size	mt__ctx_switch, .-mt__ctx_switch

/* void mt__ctx_make(mt__ctx_t *c [x0], void *lo [x1], size_t size [x2],
 *                   void (*fn)(void *) [x3], void *arg [x4])
 * The frame mt__ctx_switch pops: x19 = fn, x20 = arg, fp = 0, lr =
 * mt__ctx_start, the current FPCR; sp 16-byte aligned (the ABI's rule). */
	.globl	mt__ctx_make
	.hidden	mt__ctx_make
	.type	mt__ctx_make, %function
	.p2align 4
mt__ctx_make:
	.cfi_startproc
	add	x9, x1, x2
	and	x9, x9, #-16
	sub	x9, x9, #176
	stp	x3, x4, [x9, #0]
	stp	xzr, xzr, [x9, #16]
	stp	xzr, xzr, [x9, #32]
	stp	xzr, xzr, [x9, #48]
	stp	xzr, xzr, [x9, #64]
	adr	x10, mt__ctx_start
	stp	xzr, x10, [x9, #80]
	stp	xzr, xzr, [x9, #96]
	stp	xzr, xzr, [x9, #112]
	stp	xzr, xzr, [x9, #128]
	stp	xzr, xzr, [x9, #144]
	mrs	x10, fpcr
	str	x10, [x9, #160]
	str	x9, [x0]
	ret
	.cfi_endproc
	.size	mt__ctx_make, .-mt__ctx_make

/* First code on a new stack: fn(arg); fn never returns (brk if it did). */
	.type	mt__ctx_start, %function
	.p2align 4
mt__ctx_start:
	.cfi_startproc
	.cfi_undefined x30
	mov	x0, x20
	blr	x19
	brk	#0
	.cfi_endproc
	.size	mt__ctx_start, .-mt__ctx_start

	.section .note.GNU-stack,"",%progbits

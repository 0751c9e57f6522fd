/* switch_x86_64.S - context switch for x86-64 System V (platform/switch.h).
 *
 * A suspended context is its stack pointer; below it, from low to high:
 *   +8  MXCSR, +12 x87 control word   (the FP control words: callee-saved)
 *   +16 r15, r14, r13, r12, rbx, rbp  (the callee-saved registers)
 *   +64 return address
 * Everything else is caller-saved, so the C compiler already spilled it.
 * No signal mask is touched (that is what makes swapcontext ~20x slower). */
	.text

/* void *mt__ctx_switch(mt__ctx_t *from [rdi], mt__ctx_t *to [rsi], void *value [rdx])
 * value travels in rdx (untouched here) and comes out in rax: the return
 * value of the switch call being resumed. */
	.globl	mt__ctx_switch
	.hidden	mt__ctx_switch
	.type	mt__ctx_switch, @function
	.p2align 4
mt__ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$16, %rsp
	stmxcsr	8(%rsp)
	fnstcw	12(%rsp)
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	ldmxcsr	8(%rsp)
	fldcw	12(%rsp)
	addq	$16, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	/* pop + jmp, not ret: a ret to another context's call site always
	 * misses the return-stack predictor; an indirect jmp is predicted */
	popq	%rcx
	movq	%rdx, %rax
	jmpq	*%rcx
	.cfi_endproc
	.size	mt__ctx_switch, .-mt__ctx_switch

/* void mt__ctx_make(mt__ctx_t *c [rdi], void *lo [rsi], size_t size [rdx],
 *                   void (*fn)(void *) [rcx], void *arg [r8])
 * Builds the frame mt__ctx_switch pops: r13 = fn, r12 = arg, the current
 * FP control words, and mt__ctx_start as the return address, placed so that
 * rsp is 16-byte aligned when mt__ctx_start calls fn (the ABI's rule). */
	.globl	mt__ctx_make
	.hidden	mt__ctx_make
	.type	mt__ctx_make, @function
	.p2align 4
mt__ctx_make:
	.cfi_startproc
	leaq	(%rsi,%rdx), %rax
	andq	$-16, %rax
	subq	$72, %rax
	stmxcsr	8(%rax)
	fnstcw	12(%rax)
	movq	$0, 16(%rax)
	movq	$0, 24(%rax)
	movq	%rcx, 32(%rax)
	movq	%r8, 40(%rax)
	movq	$0, 48(%rax)
	movq	$0, 56(%rax)
	leaq	mt__ctx_start(%rip), %r9
	movq	%r9, 64(%rax)
	movq	%rax, (%rdi)
	ret
	.cfi_endproc
	.size	mt__ctx_make, .-mt__ctx_make

/* First code on a new stack: fn(arg).  fn never returns; if it did, ud2.
 * The undefined return address ends debugger/unwinder backtraces here. */
	.type	mt__ctx_start, @function
	.p2align 4
mt__ctx_start:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r12, %rdi
	callq	*%r13
	ud2
	.cfi_endproc
	.size	mt__ctx_start, .-mt__ctx_start

	.section .note.GNU-stack,"",@progbits

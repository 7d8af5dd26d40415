/*
 * tsan_syscall.c - linked into every executable of a TSan build only.
 *
 * libuv closes descriptors with syscall(SYS_close, fd), which
 * ThreadSanitizer does not intercept.  TSan then still believes a closed
 * number belongs to the handle the loop had, and when another thread
 * (a snapshot worker, the log thread) is handed that number by open() or
 * opendir() it reports a race on the descriptor that is not there.
 *
 * This file defines syscall() in the executable, which the dynamic
 * linker prefers to libc's for libuv: a close goes through close(), which
 * TSan intercepts (and which closes the descriptor with libc's own
 * system call), and every other call goes on to libc's syscall()
 * unchanged (six arguments forwarded, as the kernel takes at most six).
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*syscall_fn)(long, ...);

/* libc's syscall, looked up at the first call (other libraries' start-up
 * code may call syscall() before any constructor of ours has run). */
static syscall_fn real_syscall(void)
{
	static void *real;
	void *p = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	if (!p) {
		p = dlsym(RTLD_NEXT, "syscall");
		__atomic_store_n(&real, p, __ATOMIC_RELEASE);
	}
	syscall_fn f;
	memcpy(&f, &p, sizeof(p));
	return f;
}

long syscall(long number, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_close)
		return close((int)a[0]);
	return real_syscall()(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

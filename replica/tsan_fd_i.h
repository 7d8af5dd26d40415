/*
 * tsan_fd_i.h - tell ThreadSanitizer about descriptors libuv closes.
 *
 * Design
 *   libuv closes a handle's descriptor with a raw close syscall, which TSan
 *   does not intercept.  TSan then still believes the number belongs to the
 *   socket the loop accepted, and when a worker thread's open() or opendir()
 *   (snapshot, purge) is handed the same number it reports a race on the
 *   descriptor.  Announcing the close through the sanitizer's syscall hook,
 *   just before uv_close(), keeps TSan's descriptor table true.
 *
 * Invariants
 *   Called on the loop thread, with the handle still open; a no-op outside
 *   TSan builds.
 */
#ifndef ZABFS_TSAN_FD_I_H
#define ZABFS_TSAN_FD_I_H

#include <uv.h>

#if defined(__SANITIZE_THREAD__)
#define ZABFS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZABFS_TSAN 1
#endif
#endif

#ifdef ZABFS_TSAN
/* Exported by the TSan runtime (sanitizer_common_syscalls.inc). */
void __sanitizer_syscall_pre_impl_close(long fd);

static inline void tsan_note_close(uv_handle_t *h)
{
	uv_os_fd_t fd;
	if (uv_fileno(h, &fd) == 0)
		__sanitizer_syscall_pre_impl_close(fd);
}
#else
static inline void tsan_note_close(uv_handle_t *h)
{
	(void)h;
}
#endif

#endif

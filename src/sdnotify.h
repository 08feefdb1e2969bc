/*
 * The systemd notify protocol (sd_notify(3)), spoken directly: one
 * datagram to $NOTIFY_SOCKET per message.  Without NOTIFY_SOCKET every
 * call does nothing.
 */
#ifndef MPW_SDNOTIFY_H
#define MPW_SDNOTIFY_H

/*
 * Take NOTIFY_SOCKET and the watchdog settings from the environment and
 * remove them from it, so workers and their commands do not inherit them.
 */
void   sdn_init(void);
/* Send one message, e.g. "READY=1" or "STATUS=...".  Failures are ignored. */
void   sdn_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval systemd asked for, in seconds, or 0. */
double sdn_watchdog_interval(void);

#endif

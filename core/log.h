/* Logging to stderr: one line per message, optional timestamps. */
#ifndef ELX_LOG_H
#define ELX_LOG_H

enum elx_log_level { ELX_DEBUG = 0, ELX_INFO = 1, ELX_WARN = 2, ELX_ERROR = 3 };

void elx_log_setup(int debug, int timestamps);
int elx_log_debug_enabled(void);
#include <stdarg.h>

void elx_vlogf(enum elx_log_level level, const char *fmt, va_list ap);
void elx_logf(enum elx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs each line of a multi-line message (config errors come in bundles). */
void elx_log_lines(enum elx_log_level level, const char *text);

/* From start to stop, error lines are also kept; stop returns them, one a
 * line (malloc'd; NULL when there were none). */
void elx_log_capture_start(void);
char *elx_log_capture_stop(void);

/* Formats a malloc'd error message into *err and returns ret: for functions
 * that say what went wrong without logging it themselves. */
int elx_errorf(char **err, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...) elx_logf(ELX_DEBUG, __VA_ARGS__)
#define log_info(...)  elx_logf(ELX_INFO, __VA_ARGS__)
#define log_warn(...)  elx_logf(ELX_WARN, __VA_ARGS__)
#define log_error(...) elx_logf(ELX_ERROR, __VA_ARGS__)

#endif

#ifndef BOTTLENECK_CFFMPEG_SHIM_H
#define BOTTLENECK_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>
#include <libavutil/pixdesc.h>
#include <errno.h>
#include <signal.h>

// Swift cannot import function-like macros; these wrappers expose the ones we need.
static inline int bn_averror(int e) { return AVERROR(e); }
static inline int bn_averror_eof(void) { return AVERROR_EOF; }
static inline int bn_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t bn_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational bn_av_time_base_q(void) { return AV_TIME_BASE_Q; }

// `SIG_IGN` is a cast macro that Swift cannot import.
static inline void bn_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }
#endif

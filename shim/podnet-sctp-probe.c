/*
 * podnet-sctp-probe: SCTP reachability for kernels without SCTP sockets (the lab's netpol tests).
 *
 * The datapath (nftables, conntrack) handles SCTP even when the kernel has no SCTP stack; only
 * the endpoints are missing. This tool plays both ends of an association's first exchange with
 * raw sockets (AF_INET and AF_INET6, protocol 132), with correct CRC32c checksums, so conntrack
 * sees an INIT creating a connection and the INIT-ACK as its reply:
 *
 *   respond PORT[,PORT...] [MAX_SECONDS]
 *       Answers every valid INIT (verification tag 0, good checksum) addressed to one of the
 *       ports with an INIT-ACK: verification tag = the INIT's initiate tag, a fresh initiate tag,
 *       and a State Cookie parameter. Sent from the address the INIT was sent to. Prints "ready"
 *       once its sockets are open; runs until SIGTERM/SIGINT, its parent's death, or MAX_SECONDS
 *       (default 86400).
 *   probe DST_IP PORT TIMEOUT_MS [SRC_PORT]
 *       Sends an INIT (random initiate tag; random source port unless SRC_PORT is given) and
 *       waits for the matching INIT-ACK (source DST_IP:PORT, our port, our tag as verification
 *       tag, good checksum). Then sends an ABORT (so conntrack closes the entry at once).
 *       Exit 0: answered; 1: no answer within TIMEOUT_MS; 2: usage or system error (stderr).
 *
 * An open raw socket for protocol 132 also keeps the kernel from answering SCTP with ICMP
 * "protocol unreachable". Every wait is poll() with a deadline; every loop is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROTO_SCTP 132
#define CHUNK_INIT 1
#define CHUNK_INIT_ACK 2
#define CHUNK_ABORT 6
#define PARAM_STATE_COOKIE 7
#define COMMON_LEN 12
#define INIT_FIXED 20 /* chunk header 4 + tag 4 + a_rwnd 4 + streams 2+2 + TSN 4 */
#define COOKIE_LEN 24
#define MAX_PORTS 64
#define MAX_PKT 2048
#define MAX_EVENTS_PER_PROBE 100000

static const char *prog = "podnet-sctp-probe";

/* ---- CRC32c (Castagnoli, reflected 0x82F63B78), as SCTP uses it (RFC 9260 appendix A) ---- */

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32c(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return ~c;
}

/* The checksum field holds the CRC's bytes least significant first. */
static void sctp_set_checksum(uint8_t *pkt, size_t len) {
    memset(pkt + 8, 0, 4);
    uint32_t c = crc32c(pkt, len);
    pkt[8] = (uint8_t)c;
    pkt[9] = (uint8_t)(c >> 8);
    pkt[10] = (uint8_t)(c >> 16);
    pkt[11] = (uint8_t)(c >> 24);
}

static int sctp_checksum_ok(const uint8_t *pkt, size_t len) {
    if (len < COMMON_LEN) return 0;
    uint8_t copy[MAX_PKT];
    if (len > sizeof copy) return 0;
    memcpy(copy, pkt, len);
    sctp_set_checksum(copy, len);
    return memcmp(copy + 8, pkt + 8, 4) == 0;
}

/* ---- byte helpers ---- */

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t get32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

static uint32_t random32(void) {
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)rand();
    }
    return v;
}

static uint32_t nonzero32(void) {
    for (int i = 0; i < 16; i++) {
        uint32_t v = random32();
        if (v != 0) return v;
    }
    return 0x5c7a1e55u;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_int(const char *s, long min, long max, long *out) {
    if (!s || !*s) return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* ---- packets ---- */

/* Common header + one INIT or INIT-ACK chunk (with a State Cookie for INIT-ACK). Returns length. */
static size_t build_init(uint8_t *pkt, int type, uint16_t sport, uint16_t dport, uint32_t vtag, uint32_t itag, uint16_t os, uint16_t mis, const uint8_t *cookie) {
    size_t chunk_len = INIT_FIXED + (type == CHUNK_INIT_ACK ? 4 + COOKIE_LEN : 0);
    memset(pkt, 0, COMMON_LEN + chunk_len);
    put16(pkt, sport);
    put16(pkt + 2, dport);
    put32(pkt + 4, vtag);
    uint8_t *c = pkt + COMMON_LEN;
    c[0] = (uint8_t)type;
    c[1] = 0;
    put16(c + 2, (uint16_t)chunk_len);
    put32(c + 4, itag);
    put32(c + 8, 65536);  /* a_rwnd */
    put16(c + 12, os);    /* outbound streams */
    put16(c + 14, mis);   /* max inbound streams */
    put32(c + 16, random32()); /* initial TSN */
    if (type == CHUNK_INIT_ACK) {
        put16(c + 20, PARAM_STATE_COOKIE);
        put16(c + 22, 4 + COOKIE_LEN);
        memcpy(c + 24, cookie, COOKIE_LEN);
    }
    size_t len = COMMON_LEN + chunk_len;
    sctp_set_checksum(pkt, len);
    return len;
}

static size_t build_abort(uint8_t *pkt, uint16_t sport, uint16_t dport, uint32_t vtag) {
    memset(pkt, 0, COMMON_LEN + 4);
    put16(pkt, sport);
    put16(pkt + 2, dport);
    put32(pkt + 4, vtag);
    pkt[COMMON_LEN] = CHUNK_ABORT;
    pkt[COMMON_LEN + 1] = 0;
    put16(pkt + COMMON_LEN + 2, 4);
    sctp_set_checksum(pkt, COMMON_LEN + 4);
    return COMMON_LEN + 4;
}

/* A parsed SCTP packet whose first chunk is an INIT or INIT-ACK. */
struct init_view {
    uint16_t sport, dport;
    uint32_t vtag;
    int type;
    uint32_t itag;
    uint16_t os, mis;
};

static int parse_init(const uint8_t *p, size_t len, struct init_view *v) {
    if (len < COMMON_LEN + INIT_FIXED || !sctp_checksum_ok(p, len)) return -1;
    const uint8_t *c = p + COMMON_LEN;
    uint16_t clen = get16(c + 2);
    if (clen < INIT_FIXED || clen > len - COMMON_LEN) return -1;
    v->sport = get16(p);
    v->dport = get16(p + 2);
    v->vtag = get32(p + 4);
    v->type = c[0];
    v->itag = get32(c + 4);
    v->os = get16(c + 12);
    v->mis = get16(c + 14);
    return 0;
}

/* IPv4 raw sockets deliver the IP header: returns the SCTP payload offset (or -1). */
static int ipv4_payload(const uint8_t *p, size_t len, struct in_addr *src, struct in_addr *dst) {
    if (len < 20 || (p[0] >> 4) != 4) return -1;
    size_t ihl = (size_t)(p[0] & 0x0F) * 4;
    if (ihl < 20 || ihl > len || p[9] != PROTO_SCTP) return -1;
    memcpy(src, p + 12, 4);
    memcpy(dst, p + 16, 4);
    return (int)ihl;
}

/* ---- respond ---- */

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static int serves(const uint16_t *ports, int n, uint16_t port) {
    for (int i = 0; i < n; i++)
        if (ports[i] == port) return 1;
    return 0;
}

static void make_cookie(uint8_t *cookie, const struct init_view *in, uint32_t our_tag) {
    put32(cookie, our_tag);
    put32(cookie + 4, in->itag);
    put16(cookie + 8, in->sport);
    put16(cookie + 10, in->dport);
    put32(cookie + 12, (uint32_t)now_ms());
    put32(cookie + 16, random32());
    put32(cookie + 20, random32());
}

static size_t answer(const uint8_t *sctp, size_t len, const uint16_t *ports, int nports, uint8_t *out) {
    struct init_view in;
    if (parse_init(sctp, len, &in) != 0 || in.type != CHUNK_INIT || in.vtag != 0 || in.itag == 0) return 0;
    if (!serves(ports, nports, in.dport) || in.os == 0 || in.mis == 0) return 0;
    uint32_t tag = nonzero32();
    uint8_t cookie[COOKIE_LEN];
    make_cookie(cookie, &in, tag);
    uint16_t os = in.mis < 10 ? in.mis : 10; /* never more than the peer accepts */
    return build_init(out, CHUNK_INIT_ACK, in.dport, in.sport, in.itag, tag, os, 10, cookie);
}

static void respond_v4(int fd, const uint16_t *ports, int nports) {
    uint8_t buf[MAX_PKT], out[MAX_PKT];
    for (int i = 0; i < 256; i++) { /* drain what is queued, bounded */
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) return;
        struct in_addr src, dst;
        int off = ipv4_payload(buf, (size_t)n, &src, &dst);
        if (off < 0) continue;
        size_t olen = answer(buf + off, (size_t)n - (size_t)off, ports, nports, out);
        if (!olen) continue;
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = src};
        char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        memset(cbuf, 0, sizeof cbuf);
        struct iovec iov = {.iov_base = out, .iov_len = olen};
        struct msghdr mh = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        struct in_pktinfo pi;
        memset(&pi, 0, sizeof pi);
        pi.ipi_spec_dst = dst; /* answer from the address the INIT was sent to */
        memcpy(CMSG_DATA(cm), &pi, sizeof pi);
        if (sendmsg(fd, &mh, 0) < 0) fprintf(stderr, "%s: send INIT-ACK (IPv4): %s\n", prog, strerror(errno));
    }
}

static void respond_v6(int fd, const uint16_t *ports, int nports) {
    uint8_t buf[MAX_PKT], out[MAX_PKT];
    for (int i = 0; i < 256; i++) {
        struct sockaddr_in6 from;
        char cin[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cin, .msg_controllen = sizeof cin};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
        if (n < 0) return;
        struct in6_pktinfo dst;
        int have_dst = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
                memcpy(&dst, CMSG_DATA(cm), sizeof dst);
                have_dst = 1;
            }
        }
        size_t olen = answer(buf, (size_t)n, ports, nports, out);
        if (!olen) continue;
        struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_addr = from.sin6_addr, .sin6_scope_id = from.sin6_scope_id};
        char cout[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        memset(cout, 0, sizeof cout);
        struct iovec oiov = {.iov_base = out, .iov_len = olen};
        struct msghdr om = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &oiov, .msg_iovlen = 1};
        if (have_dst) {
            om.msg_control = cout;
            om.msg_controllen = sizeof cout;
            struct cmsghdr *cm = CMSG_FIRSTHDR(&om);
            cm->cmsg_level = IPPROTO_IPV6;
            cm->cmsg_type = IPV6_PKTINFO;
            cm->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
            memcpy(CMSG_DATA(cm), &dst, sizeof dst);
        }
        if (sendmsg(fd, &om, 0) < 0) fprintf(stderr, "%s: send INIT-ACK (IPv6): %s\n", prog, strerror(errno));
    }
}

static int parse_ports(const char *s, uint16_t *ports) {
    int n = 0;
    const char *p = s;
    for (int i = 0; i < MAX_PORTS; i++) {
        char part[8];
        size_t k = strcspn(p, ",");
        if (k == 0 || k >= sizeof part) return -1;
        memcpy(part, p, k);
        part[k] = 0;
        long v;
        if (parse_int(part, 1, 65535, &v) != 0) return -1;
        ports[n++] = (uint16_t)v;
        if (p[k] == 0) return n;
        p += k + 1;
    }
    return -1;
}

static int cmd_respond(int argc, char **argv) {
    uint16_t ports[MAX_PORTS];
    long max_seconds = 86400;
    int nports = argc >= 3 ? parse_ports(argv[2], ports) : -1;
    if (nports <= 0 || argc > 4 || (argc == 4 && parse_int(argv[3], 1, 31L * 86400, &max_seconds) != 0)) {
        fprintf(stderr, "usage: %s respond PORT[,PORT...] [MAX_SECONDS]\n", prog);
        return 2;
    }
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) return 0; /* the parent died before prctl */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int fd4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, PROTO_SCTP);
    if (fd4 < 0) {
        fprintf(stderr, "%s: raw IPv4 SCTP socket: %s\n", prog, strerror(errno));
        return 2;
    }
    int fd6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, PROTO_SCTP);
    if (fd6 < 0) {
        fprintf(stderr, "%s: raw IPv6 SCTP socket: %s (IPv4 only)\n", prog, strerror(errno));
    } else {
        int on = 1;
        if (setsockopt(fd6, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0) {
            fprintf(stderr, "%s: IPV6_RECVPKTINFO: %s\n", prog, strerror(errno));
            return 2;
        }
    }
    printf("ready\n");
    fflush(stdout);
    long long end = now_ms() + max_seconds * 1000;
    struct pollfd pf[2] = {{.fd = fd4, .events = POLLIN}, {.fd = fd6, .events = POLLIN}};
    int nfds = fd6 >= 0 ? 2 : 1;
    while (!stopping && now_ms() < end) { /* bounded by MAX_SECONDS */
        int r = poll(pf, (nfds_t)nfds, 1000);
        if (r < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
            return 2;
        }
        if (pf[0].revents & POLLIN) respond_v4(fd4, ports, nports);
        if (nfds == 2 && (pf[1].revents & POLLIN)) respond_v6(fd6, ports, nports);
    }
    close(fd4);
    if (fd6 >= 0) close(fd6);
    return 0;
}

/* ---- probe ---- */

static int cmd_probe(int argc, char **argv) {
    long port, timeout, sport = 0;
    if (argc < 5 || argc > 6 || parse_int(argv[3], 1, 65535, &port) != 0 || parse_int(argv[4], 1, 600000, &timeout) != 0 ||
        (argc == 6 && parse_int(argv[5], 0, 65535, &sport) != 0)) {
        fprintf(stderr, "usage: %s probe DST_IP PORT TIMEOUT_MS [SRC_PORT]\n", prog);
        return 2;
    }
    struct sockaddr_storage dst;
    memset(&dst, 0, sizeof dst);
    socklen_t dlen;
    int family;
    struct sockaddr_in *d4 = (struct sockaddr_in *)&dst;
    struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst;
    if (inet_pton(AF_INET, argv[2], &d4->sin_addr) == 1) {
        family = AF_INET;
        d4->sin_family = AF_INET;
        dlen = sizeof *d4;
    } else if (inet_pton(AF_INET6, argv[2], &d6->sin6_addr) == 1) {
        family = AF_INET6;
        d6->sin6_family = AF_INET6;
        dlen = sizeof *d6;
    } else {
        fprintf(stderr, "%s: %s is not an IPv4 or IPv6 address\n", prog, argv[2]);
        return 2;
    }
    if (sport == 0) sport = 1024 + (long)(random32() % (65536 - 1024));
    int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, PROTO_SCTP);
    if (fd < 0) {
        fprintf(stderr, "%s: raw SCTP socket: %s\n", prog, strerror(errno));
        return 2;
    }
    /* Connected: the kernel hands us only packets from the destination address. */
    if (connect(fd, (struct sockaddr *)&dst, dlen) < 0) {
        fprintf(stderr, "%s: connect %s: %s\n", prog, argv[2], strerror(errno));
        return 2;
    }
    uint32_t tag = nonzero32();
    uint8_t pkt[MAX_PKT];
    size_t len = build_init(pkt, CHUNK_INIT, (uint16_t)sport, (uint16_t)port, 0, tag, 10, 10, NULL);
    if (send(fd, pkt, len, 0) < 0) {
        /* A local refusal (no route, EPERM from a filter) is a verdict, not a usage error. */
        fprintf(stderr, "%s: send INIT to %s: %s\n", prog, argv[2], strerror(errno));
        close(fd);
        return errno == EPERM || errno == EACCES || errno == ENETUNREACH || errno == EHOSTUNREACH ? 1 : 2;
    }
    long long deadline = now_ms() + timeout;
    for (int i = 0; i < MAX_EVENTS_PER_PROBE; i++) {
        long long left = deadline - now_ms();
        if (left <= 0) break;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r = poll(&pf, 1, (int)left);
        if (r < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
            close(fd);
            return 2;
        }
        if (r == 0) break;
        uint8_t buf[MAX_PKT];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) continue;
        const uint8_t *sctp = buf;
        size_t slen = (size_t)n;
        if (family == AF_INET) {
            struct in_addr src, to;
            int off = ipv4_payload(buf, (size_t)n, &src, &to);
            if (off < 0 || src.s_addr != d4->sin_addr.s_addr) continue;
            sctp += off;
            slen -= (size_t)off;
        }
        struct init_view v;
        if (parse_init(sctp, slen, &v) != 0) continue;
        if (v.type != CHUNK_INIT_ACK || v.sport != (uint16_t)port || v.dport != (uint16_t)sport || v.vtag != tag || v.itag == 0) continue;
        uint8_t ab[64];
        size_t alen = build_abort(ab, (uint16_t)sport, (uint16_t)port, v.itag);
        if (send(fd, ab, alen, 0) < 0) fprintf(stderr, "%s: send ABORT: %s\n", prog, strerror(errno));
        printf("INIT-ACK from %s port %ld to port %ld (tag %08x)\n", argv[2], port, sport, v.itag);
        close(fd);
        return 0;
    }
    close(fd);
    return 1;
}

int main(int argc, char **argv) {
    crc_init();
    /* RFC 9260 / iSCSI check value of CRC32c. */
    if (crc32c((const uint8_t *)"123456789", 9) != 0xE3069283u) {
        fprintf(stderr, "%s: CRC32c self-test failed\n", prog);
        return 2;
    }
    if (argc >= 2 && strcmp(argv[1], "respond") == 0) return cmd_respond(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "probe") == 0) return cmd_probe(argc, argv);
    fprintf(stderr, "usage: %s respond PORT[,PORT...] [MAX_SECONDS] | probe DST_IP PORT TIMEOUT_MS [SRC_PORT]\n", prog);
    return 2;
}

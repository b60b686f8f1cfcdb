/*
 * podnet-cni / podnet-ipam: the executable a container runtime calls.
 *
 * This program is transport only. It holds no CNI logic: every verb is parsed, validated
 * and answered by the podnet agent (TypeScript). It exists because a Node.js process takes
 * 60-100 ms just to start on this class of machine, several times the reference plugins' whole
 * run; this shim starts in about a millisecond. See docs/PROTOCOL.md.
 *
 * 1. Read the network config from stdin; find "agentSocket" (default /run/podnet/agent.sock).
 * 2. Open CNI_NETNS (when set) and keep the fd open, so the agent can reach the namespace as
 *    /proc/<our pid>/fd/<fd> even when the runtime's mount namespace differs from the agent's.
 * 3. Send "PODNET-CNI/1\n", the CNI_* environment as NUL-terminated KEY=VALUE entries, an empty
 *    entry, then the config bytes; half-close; read "<exit code>\n<stdout bytes>"; replay them.
 * 4. If the agent cannot be reached or the exchange breaks, exec the Node implementation of the
 *    plugin (which answers VERSION itself and reports CNI error 11 "try again later" for the
 *    rest), handing it stdin through a memfd and the reason in PODNET_AGENT_ERROR.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef PODNET_NODE
#define PODNET_NODE "/usr/bin/node"
#endif
#ifndef PODNET_FALLBACK
#define PODNET_FALLBACK "/usr/lib/podnet/dist/src/bin/podnet-cni.js"
#endif
#ifndef PODNET_SUPPORTED_VERSIONS
#error "build with scripts/build-shim: it passes the supported versions from src/cni/types.ts"
#endif
#ifndef PODNET_CURRENT_VERSION
#error "build with scripts/build-shim"
#endif
#define DEFAULT_SOCKET "/run/podnet/agent.sock"
#define MAX_STDIN (16u << 20)
#define MAX_REPLY (16u << 20)
#define IO_TIMEOUT_SECONDS 300

extern char **environ;

struct buf {
    char *data;
    size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static int buf_add(struct buf *b, const void *p, size_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Reads fd to EOF into b. Returns 0, or -1 with errno set (E2BIG past limit). */
static int read_all(int fd, struct buf *b, size_t limit) {
    for (;;) {
        if (buf_reserve(b, 65536) < 0) return -1;
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) return 0;
        b->len += (size_t)n;
        if (b->len > limit) {
            errno = E2BIG;
            return -1;
        }
    }
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * Finds the string value of the first object key `key` (given with its quotes) in the JSON text.
 * Only plain values (no escapes) are taken; anything else returns 0 and the Node path parses the
 * JSON properly.
 */
static int find_string_value(const char *json, size_t len, const char *key, char *out, size_t outsz) {
    const size_t klen = strlen(key);
    for (size_t i = 0; i + klen <= len; i++) {
        if (memcmp(json + i, key, klen) != 0) continue;
        size_t j = i;
        while (j > 0 && (json[j - 1] == ' ' || json[j - 1] == '\t' || json[j - 1] == '\n' || json[j - 1] == '\r')) j--;
        if (j == 0 || (json[j - 1] != '{' && json[j - 1] != ',')) continue; /* inside a value */
        j = i + klen;
        while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r')) j++;
        if (j >= len || json[j] != ':') continue;
        j++;
        while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r')) j++;
        if (j >= len || json[j] != '"') return 0;
        size_t start = ++j;
        while (j < len && json[j] != '"' && json[j] != '\\' && (unsigned char)json[j] >= 0x20) j++;
        if (j >= len || json[j] != '"') return 0;
        size_t n = j - start;
        if (n == 0 || n >= outsz) return 0;
        memcpy(out, json + start, n);
        out[n] = 0;
        return 1;
    }
    return 0;
}

/* "x.y.z" with no leading zeros, as the verb layer's isSemver(). */
static int is_semver(const char *v) {
    for (int part = 0; part < 3; part++) {
        if (!(*v >= '0' && *v <= '9')) return 0;
        if (*v == '0' && v[1] >= '0' && v[1] <= '9') return 0;
        while (*v >= '0' && *v <= '9') v++;
        if (part < 2 && *v++ != '.') return 0;
    }
    return *v == 0;
}

/*
 * VERSION needs no agent: libcni probes it with only {"cniVersion": ...} on stdin (no
 * agentSocket), before every ADD and DEL. The answer is the verb layer's versionReply(): the list
 * is compiled in from src/cni/types.ts by scripts/build-shim, and a conformance test compares
 * the two answers.
 */
static int answer_version(const struct buf *in) {
    char v[32];
    const char *cv = PODNET_CURRENT_VERSION;
    if (find_string_value(in->data ? in->data : "", in->len, "\"cniVersion\"", v, sizeof v) && is_semver(v)) cv = v;
    char out[512];
    int n = snprintf(out, sizeof out, "{\"cniVersion\":\"%s\",\"supportedVersions\":%s}\n", cv, PODNET_SUPPORTED_VERSIONS);
    return (n > 0 && (size_t)n < sizeof out && write_all(1, out, (size_t)n) == 0) ? 0 : 1;
}

static const char *plugin_mode(const char *argv0) {
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    return strcmp(base, "podnet-ipam") == 0 ? "ipam" : "cni";
}

/* Hands over to the Node implementation with the same stdin. Does not return. */
static void fallback(const struct buf *in, const char *mode, const char *reason) {
    int mfd = memfd_create("podnet-cni-stdin", 0);
    if (mfd >= 0 && write_all(mfd, in->data ? in->data : "", in->len) == 0 && lseek(mfd, 0, SEEK_SET) == 0) {
        dup2(mfd, 0);
        close(mfd);
    }
    setenv("PODNET_AGENT_ERROR", reason, 1);
    setenv("PODNET_PLUGIN", mode, 1);
    unsetenv("NODE_EXTRA_CA_CERTS"); /* triples Node's start-up; the plugin makes no TLS calls */
    char *args[] = {(char *)PODNET_NODE, (char *)PODNET_FALLBACK, NULL};
    execv(PODNET_NODE, args);
    /* Last resort: a CNI error the runtime can read. */
    char msg[512];
    snprintf(msg, sizeof msg,
             "{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"podnet agent is not reachable and the Node "
             "fallback could not start\",\"details\":\"exec %s: %s\"}\n",
             PODNET_NODE, strerror(errno));
    write_all(1, msg, strlen(msg));
    _exit(1);
}

static int add_entry(struct buf *b, const char *k, const char *v) {
    return buf_add(b, k, strlen(k)) || buf_add(b, "=", 1) || buf_add(b, v, strlen(v)) || buf_add(b, "", 1);
}

int main(int argc, char **argv) {
    const char *mode = plugin_mode(argc > 0 ? argv[0] : "podnet-cni");
    struct buf in = {0}, req = {0}, rep = {0};
    char reason[600];

    if (read_all(0, &in, MAX_STDIN) < 0) {
        snprintf(reason, sizeof reason, "reading stdin: %s", strerror(errno));
        fallback(&in, mode, reason);
    }

    const char *cmd = getenv("CNI_COMMAND");
    if (cmd && strcmp(cmd, "VERSION") == 0) return answer_version(&in);

    char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    if (!find_string_value(in.data ? in.data : "", in.len, "\"agentSocket\"", sock_path, sizeof sock_path)) {
        /* No plain agentSocket: if the key is there at all, let the Node path parse it. */
        if (in.len && memmem(in.data, in.len, "\"agentSocket\"", 13)) fallback(&in, mode, "");
        snprintf(sock_path, sizeof sock_path, "%s", DEFAULT_SOCKET);
    }

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        snprintf(reason, sizeof reason, "connect %s: %s", sock_path, strerror(errno));
        fallback(&in, mode, reason);
    }
    struct timeval tv = {.tv_sec = IO_TIMEOUT_SECONDS};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    /* Keep the pod's netns open for the agent (see header). DEL may name a vanished one. */
    const char *netns = getenv("CNI_NETNS");
    int nsfd = (netns && *netns) ? open(netns, O_RDONLY | O_CLOEXEC) : -1;

    char num[32];
    int bad = buf_add(&req, "PODNET-CNI/1\n", 13);
    for (char **e = environ; *e && !bad; e++)
        if (strncmp(*e, "CNI_", 4) == 0) bad = buf_add(&req, *e, strlen(*e) + 1);
    bad = bad || add_entry(&req, "PODNET_PLUGIN", mode);
    snprintf(num, sizeof num, "%ld", (long)getpid());
    bad = bad || add_entry(&req, "PODNET_PID", num);
    if (nsfd >= 0) {
        snprintf(num, sizeof num, "%d", nsfd);
        bad = bad || add_entry(&req, "PODNET_NETNS_FD", num);
    }
    bad = bad || buf_add(&req, "", 1) || (in.len && buf_add(&req, in.data, in.len));
    if (bad) fallback(&in, mode, "out of memory");

    if (write_all(fd, req.data, req.len) < 0 || shutdown(fd, SHUT_WR) < 0 || read_all(fd, &rep, MAX_REPLY) < 0) {
        snprintf(reason, sizeof reason, "talking to the agent at %s: %s", sock_path, strerror(errno));
        fallback(&in, mode, reason);
    }
    char *nl = rep.len ? memchr(rep.data, '\n', rep.len) : NULL;
    if (!nl) {
        snprintf(reason, sizeof reason, "the agent at %s closed the connection without an answer%s%s", sock_path,
                 cmd ? " to " : "", cmd ? cmd : "");
        fallback(&in, mode, reason);
    }
    *nl = 0;
    int code = atoi(rep.data);
    size_t off = (size_t)(nl - rep.data) + 1;
    if (write_all(1, rep.data + off, rep.len - off) < 0) return 1;
    return code;
}

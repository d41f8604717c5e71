// Unix socket pairs and fd passing (SCM_RIGHTS: the fusermount3
// _FUSE_COMMFD handshake), poll(2) synchronous and on koffi's async thread
// pool, and eventfd(2).

import { declare, koffi, negErrno } from './libc.js';

const _socketpair = declare('int socketpair(int domain, int type, int protocol, void *sv)');
const _sendmsg = declare('long sendmsg(int sockfd, const void *msg, int flags)');
const _recvmsg = declare('long recvmsg(int sockfd, void *msg, int flags)');
const _close = declare('int close(int fd)');
const _poll = declare('int poll(void *fds, unsigned long nfds, int timeout)');
const _eventfd = declare('int eventfd(uint32_t initval, int flags)');
const _read = declare('long read(int fd, void *buf, size_t count)');
const _write = declare('long write(int fd, const void *buf, size_t count)');

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const EINTR = 4;
const EPROTO = 71;
const ECONNRESET = 104;

/**
 * socketpair(2). Both ends are close-on-exec by default (SOCK_CLOEXEC): use
 * clearCloexec() on the end a child must inherit. [fd0, fd1] | -errno.
 */
export function socketpair(domain = AF_UNIX, type = SOCK_STREAM | SOCK_CLOEXEC, protocol = 0): [number, number] | number {
  const sv = new Int32Array(2);
  const r = _socketpair(domain, type, protocol, sv) as number;
  return r < 0 ? negErrno() : [sv[0]!, sv[1]!];
}

// struct msghdr (64-bit, 56 bytes):
//   void *msg_name @0; socklen_t msg_namelen @8; struct iovec *msg_iov @16;
//   size_t msg_iovlen @24; void *msg_control @32; size_t msg_controllen @40; int msg_flags @48
// struct cmsghdr: size_t cmsg_len @0; int cmsg_level @8; int cmsg_type @12; data @16
const CMSG_HDR = 16;
const CMSG_SPACE_MAX = CMSG_HDR + 4 * 16; // room for up to 16 fds, so extra ones can be closed, not leaked

interface MsgParts {
  msg: Buffer;
  iov: Buffer;
  data: Buffer;
  control: Buffer;
}

function buildMsg(data: Buffer, controlLen: number): MsgParts {
  const msg = Buffer.alloc(56);
  const iov = Buffer.alloc(16);
  const control = Buffer.alloc(Math.max(controlLen, 8));
  iov.writeBigUInt64LE(data.length === 0 ? 0n : koffi.address(data), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  msg.writeBigUInt64LE(koffi.address(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  if (controlLen > 0) {
    msg.writeBigUInt64LE(koffi.address(control), 32);
    msg.writeBigUInt64LE(BigInt(controlLen), 40);
  }
  return { msg, iov, data, control };
}

/**
 * Sends fd over a Unix socket with SCM_RIGHTS, along with `data` (at least one
 * byte is needed on a stream socket; default one 0 byte, like fusermount3).
 * Returns bytes sent | -errno.
 */
export function sendFd(sockfd: number, fd: number, data: Buffer = Buffer.alloc(1)): number {
  const m = buildMsg(data, CMSG_HDR + 8); // CMSG_SPACE(sizeof(int)) = 24
  m.control.writeBigUInt64LE(BigInt(CMSG_HDR + 4), 0); // CMSG_LEN(sizeof(int)) = 20
  m.control.writeInt32LE(SOL_SOCKET, 8);
  m.control.writeInt32LE(SCM_RIGHTS, 12);
  m.control.writeInt32LE(fd, 16);
  for (;;) {
    const r = _sendmsg(sockfd, m.msg, MSG_NOSIGNAL) as number;
    if (r >= 0) return r;
    const e = negErrno();
    if (e !== -EINTR) return e;
  }
}

/** Parses the control data of a received message: the first fd (close-on-exec), extras closed. */
function takeFd(m: MsgParts, n: number): number {
  const controllen = Number(m.msg.readBigUInt64LE(40));
  let pos = 0;
  let fd = -EPROTO;
  while (pos + CMSG_HDR <= controllen) {
    const len = Number(m.control.readBigUInt64LE(pos));
    if (len < CMSG_HDR) break;
    const level = m.control.readInt32LE(pos + 8);
    const type = m.control.readInt32LE(pos + 12);
    if (level === SOL_SOCKET && type === SCM_RIGHTS) {
      const count = (len - CMSG_HDR) >> 2;
      for (let i = 0; i < count; i++) {
        const got = m.control.readInt32LE(pos + CMSG_HDR + i * 4);
        if (fd < 0) fd = got;
        else _close(got);
      }
    }
    pos += (len + 7) & ~7;
  }
  if (fd < 0 && n === 0) return -ECONNRESET;
  return fd;
}

/**
 * Receives one fd sent with SCM_RIGHTS (blocking unless the socket is
 * non-blocking). The fd arrives close-on-exec (MSG_CMSG_CLOEXEC). Returns the
 * fd | -errno: -ECONNRESET when the peer closed without sending one, -EPROTO
 * for a message that carried no fd.
 */
export function recvFd(sockfd: number): number {
  const m = buildMsg(Buffer.alloc(1), CMSG_SPACE_MAX);
  for (;;) {
    const r = _recvmsg(sockfd, m.msg, MSG_CMSG_CLOEXEC) as number;
    if (r >= 0) return takeFd(m, r);
    const e = negErrno();
    if (e !== -EINTR) return e;
  }
}

/** recvFd() on koffi's worker threads, so the event loop keeps running while waiting. */
export function recvFdAsync(sockfd: number): Promise<number> {
  const m = buildMsg(Buffer.alloc(1), CMSG_SPACE_MAX);
  return new Promise((resolve) => {
    const attempt = (): void => {
      _recvmsg.async(sockfd, m.msg, MSG_CMSG_CLOEXEC, (err: unknown, r: number) => {
        if (err) return resolve(-EPROTO);
        if (r >= 0) return resolve(takeFd(m, r));
        const e = -koffi.errno();
        if (e === -EINTR) return attempt();
        resolve(e);
      });
    };
    attempt();
  });
}

// ---------------------------------------------------------------------------
// poll

// struct pollfd { int fd; short events; short revents; }, grown on demand.
let pollBuf = Buffer.alloc(8 * 16);

/**
 * poll(2), synchronously. events: one mask for every fd, or one per fd.
 * If `revents` is given it receives each fd's returned events.
 * Returns the number of ready fds (0 on timeout) | -errno.
 */
export function poll(fds: readonly number[], events: number | readonly number[], timeoutMs: number, revents?: number[]): number {
  const n = fds.length;
  if (n * 8 > pollBuf.length) pollBuf = Buffer.alloc(Math.max(n * 8, pollBuf.length * 2));
  for (let i = 0; i < n; i++) {
    pollBuf.writeInt32LE(fds[i]!, i * 8);
    pollBuf.writeInt16LE(typeof events === 'number' ? events : events[i]!, i * 8 + 4);
    pollBuf.writeInt16LE(0, i * 8 + 6);
  }
  const r = _poll(pollBuf, n, timeoutMs) as number;
  if (r < 0) return negErrno();
  if (revents) for (let i = 0; i < n; i++) revents[i] = pollBuf.readUInt16LE(i * 8 + 6);
  return r;
}

/**
 * poll(2) of one fd on koffi's async worker threads (a blocking poll there,
 * the event loop stays free). Resolves to 1 when ready, 0 on timeout, -errno
 * on failure (-EINTR included: just call again). The returned events go to
 * out.revents when `out` is given. Each call occupies one worker thread for up
 * to timeoutMs, so keep timeouts bounded.
 */
export function pollAsync(fd: number, events: number, timeoutMs: number, out?: { revents: number }): Promise<number> {
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(events, 4);
  return new Promise((resolve, reject) => {
    _poll.async(pfd, 1, timeoutMs, (err: unknown, r: number) => {
      if (err) return reject(err);
      if (r < 0) return resolve(-koffi.errno());
      if (out) out.revents = pfd.readUInt16LE(6);
      resolve(r);
    });
  });
}

// ---------------------------------------------------------------------------
// eventfd

/** eventfd(2): flags EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE. fd | -errno. */
export function eventfd(initval = 0, flags = 0): number {
  const r = _eventfd(initval >>> 0, flags) as number;
  return r < 0 ? negErrno() : r;
}

const evBuf = Buffer.alloc(8);

/** Adds value to the eventfd counter. 0 | -errno (-EAGAIN if it would overflow on a non-blocking fd). */
export function eventfdWrite(fd: number, value: bigint | number = 1n): number {
  evBuf.writeBigUInt64LE(BigInt(value), 0);
  const r = _write(fd, evBuf, 8) as number;
  return r < 0 ? negErrno() : 0;
}

/**
 * Reads (and resets, or decrements with EFD_SEMAPHORE) the eventfd counter.
 * Returns the counter as a bigint, or a NEGATIVE bigint errno (-11n: EAGAIN
 * when zero on a non-blocking fd).
 */
export function eventfdRead(fd: number): bigint {
  const r = _read(fd, evBuf, 8) as number;
  return r < 0 ? BigInt(negErrno()) : evBuf.readBigUInt64LE(0);
}

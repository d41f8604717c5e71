// tsfuse: FUSE filesystems in TypeScript.
export { mount, unmount, MountError } from './mount.js';
export type { MountHandle, MountOptions, FilesystemSource, UnmountOptions } from './mount.js';
export { Session } from './session/session.js';
export type { SessionOptions } from './session/session.js';
export { ConnectionInfo } from './session/connection.js';
export { Notifier } from './session/notify.js';
export { DirBuffer } from './session/dirbuf.js';
export { FuseError, Errno, errnoName } from './session/errors.js';
export { FileAllocate, FileClose, FileData, FileSync, FileTruncate, FileWrite } from './session/filesystem.js';
export type { Filesystem, RequestContext, NegativeEntry, CreateReply, LockReply, IoctlReply, MaybePromise, HandlerResult, Attr, AttrReply, Entry, OpenReply, StatfsReply, StatxReply } from './session/filesystem.js';
export { mountKernel, unmountKernel } from './session/mount.js';
export type { KernelMountOptions } from './session/mount.js';
export { MemFs } from './fs/memfs.js';
export type { MemFsOptions } from './fs/memfs.js';
export { PassthroughFs, resolvePassthroughOptions, OptionError, IdMap } from './fs/passthrough/index.js';
export type { PassthroughOptions, ResolvedOptions, CachePolicy } from './fs/passthrough/index.js';
export * as protocol from './protocol/index.js';

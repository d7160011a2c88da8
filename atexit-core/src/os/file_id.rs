//! A file's identity on Windows, and its removal only while it still has
//! that identity: what `LastWords::remove_file` and `remove_dir_all` hold
//! on to, used by a normal ending (`last_words`) and by the watchdog after
//! the program was killed, hence its place here, below both.
//!
//! The identity is the volume's serial number and the file's index on it
//! (`GetFileInformationByHandle`), the pair Windows documents as naming a
//! file while it exists; NTFS puts a sequence number in the index's top 16
//! bits, so a record reused for a new file has another index. The creation
//! time is not an identity there: file-system tunnelling gives a file
//! created within 15 s of the deletion of one with the same name in the
//! same directory the old one's creation time.

use std::io;
use std::os::windows::fs::OpenOptionsExt as _;
use std::os::windows::io::AsRawHandle as _;
use std::path::Path;
use windows_sys::Win32::Storage::FileSystem::{
    FileDispositionInfo, GetFileInformationByHandle, SetFileInformationByHandle,
    BY_HANDLE_FILE_INFORMATION, DELETE, FILE_ATTRIBUTE_DIRECTORY, FILE_DISPOSITION_INFO,
    FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_READ_ATTRIBUTES,
    FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
};

/// A file's identity: its volume's serial number, its index on the volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    pub(crate) volume: u64,
    pub(crate) index: u64,
}

/// Opens `path` itself (a symlink or junction is not followed; a directory
/// opens too) with `access`, sharing it with every other opener.
fn open(path: &Path, access: u32) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .access_mode(access)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// The identity of the open file, and whether it is a directory.
fn identity_of(file: &std::fs::File) -> io::Result<(FileId, bool)> {
    // SAFETY: all-zero is a valid value of this plain C structure.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: an open handle we own, and a structure it writes into.
    if unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let id = FileId {
        volume: u64::from(info.dwVolumeSerialNumber),
        index: u64::from(info.nFileIndexHigh) << 32 | u64::from(info.nFileIndexLow),
    };
    Ok((id, info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY != 0))
}

/// The identity of `path` itself, and whether it is a directory.
pub(crate) fn identity(path: &Path) -> io::Result<(FileId, bool)> {
    identity_of(&open(path, FILE_READ_ATTRIBUTES)?)
}

/// Removes `path` if it still is `id`: a file (or symlink) through the
/// handle whose identity was checked, so nothing put at the path meanwhile
/// is removed; a directory with its contents by std's `remove_dir_all`
/// (which follows no link), after the check. Whatever fails leaves it.
pub(crate) fn remove_if_same(path: &Path, id: FileId, recursive: bool) {
    if recursive {
        if identity(path).is_ok_and(|(now, is_dir)| now == id && is_dir) {
            let _ = std::fs::remove_dir_all(path);
        }
        return;
    }
    let Ok(file) = open(path, DELETE | FILE_READ_ATTRIBUTES) else {
        return;
    };
    if !identity_of(&file).is_ok_and(|(now, is_dir)| now == id && !is_dir) {
        return;
    }
    let dispose = FILE_DISPOSITION_INFO { DeleteFile: true };
    // SAFETY: an open handle with DELETE access, and the structure its
    // class names, of the size given; removed when the handle closes.
    unsafe {
        SetFileInformationByHandle(
            file.as_raw_handle(),
            FileDispositionInfo,
            (&dispose as *const FILE_DISPOSITION_INFO).cast(),
            std::mem::size_of::<FILE_DISPOSITION_INFO>() as u32,
        )
    };
}

/* Issue 24, what the Windows watchdog may rely on, under Wine: is a file's
 * index reused by a file re-created at once; what does pinning (a handle
 * shared for reading, writing and deletion) do to a deletion and to a
 * re-creation; is the creation time a birth time. Run by pin-probe.sh in a
 * directory given as argv[1]. */
#include <windows.h>
#include <stdio.h>

static WCHAR path[MAX_PATH], dir[MAX_PATH];

static HANDLE make(const WCHAR *p, DWORD disposition) {
    HANDLE h = CreateFileW(p, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, disposition, 0, NULL);
    if (h != INVALID_HANDLE_VALUE) {
        DWORD n;
        WriteFile(h, "x", 1, &n, NULL);
    }
    return h;
}

static HANDLE pin(const WCHAR *p) {
    return CreateFileW(p, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                       NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
}

static ULONGLONG index_of(HANDLE h) {
    BY_HANDLE_FILE_INFORMATION info;
    GetFileInformationByHandle(h, &info);
    return ((ULONGLONG)info.nFileIndexHigh << 32) | info.nFileIndexLow;
}

static const char *there(const WCHAR *p) {
    return GetFileAttributesW(p) == INVALID_FILE_ATTRIBUTES ? "absent" : "present";
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    swprintf(path, MAX_PATH, L"%hs\\probe.lock", argv[1]);
    swprintf(dir, MAX_PATH, L"%hs\\probe.dir", argv[1]);

    /* 1. Index reuse, no pin. */
    HANDLE h = make(path, CREATE_NEW);
    ULONGLONG first = index_of(h);
    CloseHandle(h);
    DeleteFileW(path);
    h = make(path, CREATE_NEW);
    ULONGLONG second = index_of(h);
    CloseHandle(h);
    DeleteFileW(path);
    printf("index: first %llu, re-created %llu: %s\n", first, second,
           first == second ? "same (reused)" : "different");

    /* 2. A pinned file deleted, then re-created. */
    h = make(path, CREATE_NEW);
    CloseHandle(h);
    HANDLE p = pin(path);
    BOOL deleted = DeleteFileW(path);
    printf("pinned file: DeleteFile %s; then %s\n", deleted ? "ok" : "failed", there(path));
    h = make(path, CREATE_NEW);
    printf("pinned file: re-create %s (error %lu)\n", h != INVALID_HANDLE_VALUE ? "ok" : "failed",
           h != INVALID_HANDLE_VALUE ? 0 : GetLastError());
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
    CloseHandle(p);
    printf("pinned file: after the pin closed, %s\n", there(path));
    DeleteFileW(path);

    /* 3. A pinned directory removed, then re-created. */
    CreateDirectoryW(dir, NULL);
    p = pin(dir);
    BOOL removed = RemoveDirectoryW(dir);
    printf("pinned directory: RemoveDirectory %s; then %s\n", removed ? "ok" : "failed", there(dir));
    BOOL made = CreateDirectoryW(dir, NULL);
    printf("pinned directory: re-create %s (error %lu)\n", made ? "ok" : "failed", made ? 0 : GetLastError());
    CloseHandle(p);
    made = CreateDirectoryW(dir, NULL);
    printf("pinned directory: after the pin closed, re-create %s (error %lu)\n", made ? "ok" : "failed",
           made ? 0 : GetLastError());
    RemoveDirectoryW(dir);

    /* 4. Creation time across a rewrite. */
    FILETIME created1, created2, written2;
    h = make(path, CREATE_NEW);
    GetFileTime(h, &created1, NULL, NULL);
    CloseHandle(h);
    Sleep(1100);
    h = make(path, CREATE_ALWAYS);
    GetFileTime(h, &created2, NULL, &written2);
    CloseHandle(h);
    DeleteFileW(path);
    printf("creation time: %s by a rewrite 1.1 s later; %s its modification time\n",
           CompareFileTime(&created1, &created2) == 0 ? "unchanged" : "changed",
           CompareFileTime(&created2, &written2) == 0 ? "equal to" : "not equal to");
    return 0;
}

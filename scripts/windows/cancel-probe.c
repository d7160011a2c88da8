/* Can a delete-on-close be taken back? A declared cleanup can be cancelled,
 * so a Windows design on delete-on-close needs a way to undo it (issue 24).
 * Two ways, each on its own file:
 *   ex:   a handle opened with DELETE, then FileDispositionInfoEx with
 *         FILE_DISPOSITION_FLAG_DELETE | FILE_DISPOSITION_FLAG_ON_CLOSE
 *         (Windows 10 1709 and later), then the same with ON_CLOSE alone,
 *         which clears it;
 *   flag: a handle opened with FILE_FLAG_DELETE_ON_CLOSE, then
 *         FileDispositionInfo { DeleteFile = FALSE } (Windows documents
 *         that this has no effect on such a handle).
 * Prints what each call returned and whether the file is there after the
 * handle is closed. Run by scripts/windows/cancel-probe.sh. */
#include <windows.h>
#include <stdio.h>

#define FLAG_DELETE 0x1
#define FLAG_ON_CLOSE 0x8
#define FILE_DISPOSITION_INFO_EX_CLASS 21

typedef struct { ULONG Flags; } DISPOSITION_EX;

static const char *there(const char *path) {
    return GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES ? "gone" : "there";
}

static void ex(const char *path) {
    HANDLE f = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    CloseHandle(f);
    HANDLE h = CreateFileA(path, DELETE | SYNCHRONIZE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, 0, NULL);
    DISPOSITION_EX set = {FLAG_DELETE | FLAG_ON_CLOSE};
    BOOL ok = SetFileInformationByHandle(h, FILE_DISPOSITION_INFO_EX_CLASS, &set, sizeof set);
    printf("ex: set delete-on-close: %s (error %lu)\n", ok ? "ok" : "refused", ok ? 0 : GetLastError());
    DISPOSITION_EX clear = {FLAG_ON_CLOSE};
    ok = SetFileInformationByHandle(h, FILE_DISPOSITION_INFO_EX_CLASS, &clear, sizeof clear);
    printf("ex: clear it: %s (error %lu)\n", ok ? "ok" : "refused", ok ? 0 : GetLastError());
    CloseHandle(h);
    printf("ex: after the close the file is %s\n", there(path));
    DeleteFileA(path);
}

static void flag(const char *path) {
    HANDLE h = CreateFileA(path, GENERIC_WRITE | DELETE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    FILE_DISPOSITION_INFO keep = {FALSE};
    BOOL ok = SetFileInformationByHandle(h, FileDispositionInfo, &keep, sizeof keep);
    printf("flag: DeleteFile = FALSE: %s (error %lu)\n", ok ? "ok" : "refused", ok ? 0 : GetLastError());
    CloseHandle(h);
    printf("flag: after the close the file is %s\n", there(path));
}

int main(void) {
    ex("C:\\cancel-probe-ex.tmp");
    flag("C:\\cancel-probe-flag.tmp");
    return 0;
}

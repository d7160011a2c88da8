/* Issue 24 on Windows, a probe under Wine: can a watchdog carry out declared
 * cleanups after the program is killed with no code run (TerminateProcess,
 * or a Linux `kill -9` of its Wine process)?
 *
 *   probe.exe program DIR    creates DIR\doc.tmp with FILE_FLAG_DELETE_ON_CLOSE
 *                            (its handle kept open), DIR\app.lock (a plain
 *                            file, identified by volume serial + file index),
 *                            starts "probe.exe watch PID DIR" and waits for ever
 *                            once it wrote DIR\ready.
 *   probe.exe program DIR pin  the same, and the watchdog keeps a handle open
 *                            on the lock while it waits (to pin its identity).
 *   probe.exe watch PID DIR [pin]  the watchdog: OpenProcess(SYNCHRONIZE) on PID,
 *                            WaitForSingleObject(INFINITE); then removes
 *                            DIR\app.lock only if it is still the same file
 *                            (same volume serial and file index), and prints
 *                            what it did and how long after the wait ended.
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -o probe.exe last-words-probe.c
 * Run:   scripts/windows/last-words-probe.sh (prints the results).
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

static BOOL file_id(const char *path, DWORD *volume, DWORD *high, DWORD *low) {
    HANDLE h = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    BY_HANDLE_FILE_INFORMATION info;
    BOOL ok;
    if (h == INVALID_HANDLE_VALUE) return FALSE;
    ok = GetFileInformationByHandle(h, &info);
    CloseHandle(h);
    if (!ok) return FALSE;
    *volume = info.dwVolumeSerialNumber;
    *high = info.nFileIndexHigh;
    *low = info.nFileIndexLow;
    return TRUE;
}

int main(int argc, char **argv) {
    char path[MAX_PATH], lock[MAX_PATH], ready[MAX_PATH], cmd[3 * MAX_PATH];
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "program") == 0) {
        HANDLE doc, lockh;
        DWORD written;
        STARTUPINFOA si;
        PROCESS_INFORMATION pi;
        snprintf(path, sizeof path, "%s\\doc.tmp", argv[2]);
        snprintf(lock, sizeof lock, "%s\\app.lock", argv[2]);
        snprintf(ready, sizeof ready, "%s\\ready", argv[2]);
        doc = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE,
                          NULL, CREATE_ALWAYS,
                          FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
        if (doc == INVALID_HANDLE_VALUE) return 2;
        WriteFile(doc, "scratch", 7, &written, NULL);
        lockh = CreateFileA(lock, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL,
                            CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        if (lockh == INVALID_HANDLE_VALUE) return 3;
        WriteFile(lockh, "first", 5, &written, NULL);
        CloseHandle(lockh);
        snprintf(cmd, sizeof cmd, "\"%s\" watch %lu \"%s\" %s", argv[0],
                 (unsigned long)GetCurrentProcessId(), argv[2], argc == 4 ? "pin" : "");
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) return 4;
        Sleep(300); /* the watchdog opens its handle on us */
        CloseHandle(CreateFileA(ready, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL));
        for (;;) Sleep(INFINITE);
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "watch") == 0) {
        DWORD pid = strtoul(argv[2], NULL, 10), volume, high, low, v2, h2, l2, start;
        HANDLE parent = OpenProcess(SYNCHRONIZE, FALSE, pid), pin = NULL;
        char report[MAX_PATH];
        snprintf(lock, sizeof lock, "%s\\app.lock", argv[3]);
        snprintf(path, sizeof path, "%s\\watchdog.txt", argv[3]);
        snprintf(report, sizeof report, "%s\\watchdog.part", argv[3]);
        if (parent == NULL || !file_id(lock, &volume, &high, &low)) return 5;
        if (argc == 5 && strcmp(argv[4], "pin") == 0)
            pin = CreateFileA(lock, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                              NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
        if (WaitForSingleObject(parent, INFINITE) != WAIT_OBJECT_0) return 6;
        start = GetTickCount();
        {
            const char *did;
            FILE *out;
            if (!file_id(lock, &v2, &h2, &l2)) did = "lock already gone";
            else if (v2 != volume || h2 != high || l2 != low) did = "lock is another file: kept";
            else did = DeleteFileA(lock) ? "lock removed" : "lock removal failed";
            if (pin) CloseHandle(pin);
            /* Written, then renamed: the harness reads it whole, after the removal. */
            out = fopen(report, "w");
            if (out) {
                fprintf(out, "watchdog: parent ended; %s%s; %lu ms after the wait\n", did,
                        pin ? " (lock pinned by an open handle)" : "",
                        (unsigned long)(GetTickCount() - start));
                fclose(out);
                MoveFileA(report, path);
            }
        }
        return 0;
    }
    fprintf(stderr, "usage: probe.exe program DIR | watch PID DIR\n");
    return 1;
}

/* Issue 24, the console mode through the watchdog, under Wine: can a
 * watchdog detached from the console (DETACHED_PROCESS) give a killed
 * program's console its mode back, (a) through a console handle the program
 * duplicated into it, (b) by AttachConsole to a process still on that
 * console (the shell)? Roles: `shell` (the first process: holds the
 * console, starts the program, reports the mode it sees at the end),
 * `program` (saves the mode, starts the watchdog, hands it the handle, sets
 * a raw mode, dies by TerminateProcess), `watchdog`. Run by
 * console-probe.sh, in a directory given as argv[2]. */
#include <windows.h>
#include <stdio.h>
#include <string.h>

static char self[MAX_PATH], dir[MAX_PATH], file[MAX_PATH];

static const char *at(const char *name) {
    snprintf(file, sizeof file, "%s\\%s", dir, name);
    return file;
}

static HANDLE conin(void) {
    return CreateFileA("CONIN$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                       OPEN_EXISTING, 0, NULL);
}

static PROCESS_INFORMATION start(const char *role, const char *way, DWORD shell, DWORD flags) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s\" %s %s %s %lu", self, role, dir, way, shell);
    STARTUPINFOA si = {sizeof si};
    PROCESS_INFORMATION pi = {0};
    if (!CreateProcessA(self, cmd, NULL, NULL, FALSE, flags, NULL, NULL, &si, &pi))
        printf("%s: CreateProcess failed (error %lu)\n", role, GetLastError());
    return pi;
}

int main(int argc, char **argv) {
    GetModuleFileNameA(NULL, self, sizeof self);
    if (argc < 4) return 2;
    const char *role = argv[1], *way = argv[3];
    snprintf(dir, sizeof dir, "%s", argv[2]);
    if (!strcmp(role, "shell")) {
        HANDLE in = conin();
        DWORD mode = 0;
        BOOL has = GetConsoleMode(in, &mode);
        printf("%s: console %s, mode %#lx\n", way, has ? "present" : "absent", mode);
        if (!has) return 0;
        PROCESS_INFORMATION program = start("program", way, GetCurrentProcessId(), 0);
        WaitForSingleObject(program.hProcess, 20000);
        for (int i = 0; i < 200 && GetFileAttributesA(at("done")) == INVALID_FILE_ATTRIBUTES; i++) Sleep(50);
        FILE *report = fopen(at("done"), "r");
        char line[256] = "no report";
        if (report) { if (!fgets(line, sizeof line, report)) strcpy(line, "empty report"); fclose(report); }
        DWORD after = 0;
        GetConsoleMode(in, &after);
        printf("%s: watchdog: %s", way, line);
        printf("%s: the shell's console after the kill: %#lx (%s)\n", way, after,
               after == mode ? "given back" : "left raw");
        SetConsoleMode(in, mode);
        DeleteFileA(at("done"));
        return 0;
    }
    if (!strcmp(role, "program")) {
        HANDLE in = conin();
        DWORD saved = 0;
        GetConsoleMode(in, &saved);
        PROCESS_INFORMATION watchdog = start("watchdog", way, strtoul(argv[4], NULL, 10), DETACHED_PROCESS | CREATE_SUSPENDED);
        HANDLE theirs = NULL;
        if (!strcmp(way, "duplicate"))
            DuplicateHandle(GetCurrentProcess(), in, watchdog.hProcess, &theirs, 0, FALSE, DUPLICATE_SAME_ACCESS);
        FILE *hand = fopen(at("handle"), "w");
        fprintf(hand, "%llu %lu %lu\n", (unsigned long long)(ULONG_PTR)theirs, saved, GetCurrentProcessId());
        fclose(hand);
        ResumeThread(watchdog.hThread);
        SetConsoleMode(in, ENABLE_PROCESSED_INPUT); /* raw: no line input, no echo */
        Sleep(500); /* let the watchdog start waiting */
        TerminateProcess(GetCurrentProcess(), 9);
    }
    if (!strcmp(role, "watchdog")) {
        DWORD shell = strtoul(argv[4], NULL, 10);
        unsigned long long handle = 0;
        DWORD saved = 0, program = 0;
        FILE *hand = fopen(at("handle"), "r");
        if (!hand || fscanf(hand, "%llu %lu %lu", &handle, &saved, &program) != 3) return 3;
        fclose(hand);
        HANDLE parent = OpenProcess(SYNCHRONIZE, FALSE, program);
        WaitForSingleObject(parent, 20000);
        HANDLE in = (HANDLE)(ULONG_PTR)handle;
        char line[256];
        DWORD mode = 0;
        if (!strcmp(way, "attach")) {
            BOOL attached = AttachConsole(shell);
            in = conin();
            if (!attached) snprintf(line, sizeof line, "AttachConsole failed (error %lu)\n", GetLastError());
        }
        BOOL got = GetConsoleMode(in, &mode);
        BOOL set = got && SetConsoleMode(in, saved);
        if (got || strcmp(way, "attach"))
            snprintf(line, sizeof line, "after the death it saw %#lx (%s), set %#lx (%s)\n", mode,
                     got ? "read" : "unreadable", saved, set ? "ok" : "failed");
        FILE *done = fopen(at("done"), "w");
        fputs(line, done);
        fclose(done);
    }
    return 0;
}

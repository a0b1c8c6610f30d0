/* Test scaffolding, never shipped: a stand-in for netsh.exe under Wine, whose own netsh is a stub
 * that prints nothing. It prints a captured netsh output chosen by its arguments: the file
 * %FAKE_NETSH_DIR%\<args joined by '_'>.txt (e.g. int_ipv4_show_dynamicport_tcp.txt). A missing file
 * makes it print nothing and exit 1, as a failing netsh would. Run it with
 * WINEDLLOVERRIDES=netsh.exe=n so Wine takes it over its builtin netsh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *dir = getenv("FAKE_NETSH_DIR");
    char path[4096];
    size_t n;
    FILE *f;
    char buf[4096];
    if (!dir)
        return 1;
    n = (size_t)snprintf(path, sizeof path, "%s\\", dir);
    for (int i = 1; i < argc && n < sizeof path; i++) {
        for (const char *c = argv[i]; *c && n < sizeof path - 8; c++)
            path[n++] = (*c == '=' || *c == '\\' || *c == '/' || *c == ':') ? '-' : *c;
        if (i + 1 < argc)
            path[n++] = '_';
    }
    if (n >= sizeof path - 5)
        return 1;
    strcpy(path + n, ".txt");
    f = fopen(path, "rb");
    if (!f)
        return 1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}

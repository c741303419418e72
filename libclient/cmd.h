/* cmd.h: baton subcommands that live in files of their own. */
#ifndef BATON_CMD_H
#define BATON_CMD_H

int	cmd_audit_check(int, char **);

#endif

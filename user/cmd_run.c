// SPDX-License-Identifier: MIT
#include "commands.h"

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fail("'run' is not implemented yet");
}

// SPDX-License-Identifier: MIT
#include "commands.h"

int cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fail("'report' is not implemented yet");
}

// SPDX-License-Identifier: MIT
#include "commands.h"

int cmd_info(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fail("'info' is not implemented yet");
}

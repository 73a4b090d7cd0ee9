// SPDX-License-Identifier: MIT
#include "commands.h"

int cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fail("'record' is not implemented yet");
}

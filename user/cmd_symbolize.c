// SPDX-License-Identifier: MIT
#include "commands.h"

int cmd_symbolize(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fail("'symbolize' is not implemented yet");
}

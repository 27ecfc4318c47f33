/* ipclab.h - the whole helper library in one include, for programs.
 * Each header covers one concern; see the comment at the top of each. */
#ifndef IPCLAB_H
#define IPCLAB_H

#include "cleanup.h"
#include "cli.h"
#include "clock.h"
#include "cpu.h"
#include "die.h"
#include "frame.h"
#include "io.h"
#include "ipc_names.h"
#include "parse.h"
#include "race.h"
#include "workers.h"

#endif

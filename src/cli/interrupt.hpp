// cli/interrupt: Ctrl-C as an event a program waits for rather than the end of it. The handler
// (installed once, without SA_RESTART so that a blocked read returns) only sets a flag and writes
// a byte to a pipe: a thread streaming an answer can poll the pipe, a line editor can ask the flag.
#pragma once

namespace pensieve::cli {

void install_interrupt_handler();
// Whether Ctrl-C came since the last call; clears it (and drains the pipe).
bool take_interrupt();
// Readable while an interrupt is pending.
int interrupt_fd();

}  // namespace pensieve::cli

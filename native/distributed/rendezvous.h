// The checks every rank makes through the store before connecting a backend, so that a wrong world
// size, a rank started twice or a rank that never comes are clear errors within the timeout.
#pragma once
#include <chrono>

#include "tcp_store.h"

namespace fsnn {
namespace dist {

void rendezvous(TcpStore& store, int rank, int size, std::chrono::milliseconds timeout);
// At destroy: every rank says it is done; rank 0 (which hosts the store) waits for the others, so that
// closing its server does not cut off a rank still finishing (best effort: gives up after the timeout).
void farewell(TcpStore& store, int rank, int size, std::chrono::milliseconds timeout);

}  // namespace dist
}  // namespace fsnn

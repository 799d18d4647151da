/** @file
 * otad — reverse-mode automatic differentiation through optimal transport.
 * One include for the whole library. */
#ifndef OTAD_H
#define OTAD_H

#include "ad/ad.h"
#include "ops/ops.h"
#include "solvers/solvers.h"
#include "models/models.h"
#include "io/io.h"

#endif

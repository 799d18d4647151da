/* The README's first program: the gradient of ‖softmax(θ) − target‖². */
#include <stdio.h>
#include "otad.h"

int main(void)
{
    double theta[3] = {0.1, -0.4, 0.3}, grad[3];
    double target[3] = {0.2, 0.5, 0.3};
    otad_tape *tape;
    otad_tape_new(&tape, NULL);                       /* NULL: default options */

    otad_var p = otad_softmax(tape, otad_param(tape, 3, 1, theta, grad));
    otad_var r = otad_sub(tape, p, otad_const(tape, 3, 1, target));
    otad_var loss = otad_dot(tape, r, r);             /* ‖softmax(θ) − target‖² */

    if (otad_backward(tape, loss) != OTAD_OK)         /* the one error check */
        fprintf(stderr, "%s\n", otad_tape_message(tape));
    printf("loss %g, dloss/dtheta = %g %g %g\n", otad_scalar(tape, loss),
           grad[0], grad[1], grad[2]);
    otad_tape_free(&tape);
}

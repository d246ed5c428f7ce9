/* Which family builder makes the plan of a configuration (above the builders, which use the
 * helpers of plan.c). The conv ResNets of --arch resnet-cifar join here. */
#include "model/plan.h"

int tn_plan_make_shape(const tn_config *c, tn_shape in, int d, tn_plan **plan, tn_err *e) {
    *plan = tn_plan_new(in.c * in.h * in.w, d, c->loss);
    if (!*plan) return tn_fail(e, TN_ERUNTIME, "model plan: out of memory");
    int rc = c->arch == TN_ARCH_RESNET_CIFAR ? tn_plan_cifar(*plan, c, &in, e) : tn_plan_fc(*plan, c, e);
    if (rc) {
        tn_plan_free(*plan);
        *plan = NULL;
    }
    return rc;
}

int tn_plan_make(const tn_config *c, int p, int d, tn_plan **plan, tn_err *e) {
    return tn_plan_make_shape(c, (tn_shape){p, 1, 1}, d, plan, e);
}

/* Writing a configuration back out: the canonical flags (one "--flag\nvalue" pair per line, so
 * paths with spaces survive; checkpoints store this and resume re-parses it) and config.json. */
#include <stdio.h>
#include <string.h>

#include "taunet/backend.h"
#include "taunet/config.h"

static const char *arch_name[] = {"plain", "resnet", "resnet-cifar"};
static const char *data_name[] = {"synthetic", "mnist", "fashion", "cifar10"};
static const char *prep_name[] = {"default", "none", "scale", "standardize", "unitnorm"};
static const char *opt_name[] = {"gd", "sgd"};
static const char *train_name[] = {"all", "hidden", "last"};
static const char *backend_name[] = {"auto", "cpu", "cuda"};

static void schedule_str(const tn_config *c, char *buf, size_t cap) {
    if (c->sched == TN_SCHED_CONSTANT) snprintf(buf, cap, "constant");
    else if (c->sched == TN_SCHED_COSINE) snprintf(buf, cap, "cosine");
    else {
        size_t o = (size_t)snprintf(buf, cap, "step:");
        for (int i = 0; i < c->n_milestones && o < cap; i++)
            o += (size_t)snprintf(buf + o, cap - o, i ? ",%d" : "%d", c->milestones[i]);
    }
}

static void data_str(const tn_config *c, char *buf, size_t cap) {
    if (c->data.kind == TN_DATA_SYNTHETIC) snprintf(buf, cap, "synthetic");
    else snprintf(buf, cap, "%s:%s", data_name[c->data.kind], c->data.dir);
}

int tn_config_to_flags(const tn_config *c, char *buf, size_t cap) {
    char tau[64], sched[256], data[1100], steps[64];
    tn_tau_rule_name(c, tau, sizeof tau);
    schedule_str(c, sched, sizeof sched);
    data_str(c, data, sizeof data);
    if (c->steps >= 0) snprintf(steps, sizeof steps, "--steps\n%ld", c->steps);
    else snprintf(steps, sizeof steps, "--epochs\n%.17g", c->epochs);
    int n = snprintf(buf, cap,
        "--arch\n%s\n--width\n%d\n--depth\n%d\n--tau\n%s\n--bn\n%s\n--data\n%s\n--n\n%d\n--n-test\n%d\n"
        "--input-dim\n%d\n--classes\n%d\n--labels\n%s\n--subset\n%d\n--label-noise\n%.17g\n"
        "--preprocess\n%s\n--loss\n%s\n--opt\n%s\n--batch\n%d\n--lr\n%.17g\n--momentum\n%.17g\n"
        "--wd\n%.17g\n--schedule\n%s\n--lr-gamma\n%.17g\n--warmup\n%ld\n%s\n--eval-every\n%ld\n"
        "--target-loss\n%.17g\n--train\n%s\n--seed\n%llu\n--math\n%s\n--graph\n%s\n--diag\n%s\n"
        "--sharp-sigma\n%.17g\n--sharp-draws\n%d\n--ckpt-every\n%ld",
        arch_name[c->arch], c->width, c->depth, tau, c->bn ? "on" : "off", data, c->data.n_train,
        c->data.n_test, c->data.p, c->data.d, c->data.labels == TN_LABELS_TEACHER ? "teacher" : "uniform",
        c->data.subset, c->data.label_noise, prep_name[c->data.prep], c->loss == TN_LOSS_MSE ? "mse" : "xent",
        opt_name[c->opt], c->batch, c->lr, c->momentum, c->wd, sched, c->step_gamma, c->warmup, steps,
        c->eval_every, c->target_loss, train_name[c->train_what], (unsigned long long)c->seed,
        c->tf32 ? "tf32" : "fp32", c->graph ? "on" : "off", c->diag[0] ? c->diag : "none", c->sharp_sigma, c->sharp_draws, c->ckpt_every);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

void tn_config_to_json(const tn_config *c, tn_json *j) {
    char tau[64], sched[256], data[1100];
    tn_tau_rule_name(c, tau, sizeof tau);
    schedule_str(c, sched, sizeof sched);
    data_str(c, data, sizeof data);
    char id[17];
    tn_config_identity_hex(c, id);
    tn_json_str(j, "run_id", id);
    tn_json_str(j, "arch", arch_name[c->arch]);
    tn_json_int(j, "width", c->width);
    tn_json_int(j, "depth", c->depth);
    tn_json_str(j, "tau_rule", tau);
    tn_json_num(j, "tau", tn_config_tau(c));
    tn_json_bool(j, "bn", c->bn);
    tn_json_str(j, "data", data);
    tn_json_int(j, "n", c->data.n_train);
    tn_json_int(j, "n_test", c->data.n_test);
    tn_json_int(j, "input_dim", c->data.p);
    tn_json_int(j, "classes", c->data.d);
    tn_json_str(j, "labels", c->data.labels == TN_LABELS_TEACHER ? "teacher" : "uniform");
    tn_json_int(j, "subset", c->data.subset);
    tn_json_num(j, "label_noise", c->data.label_noise);
    tn_json_str(j, "preprocess", prep_name[c->data.prep]);
    tn_json_str(j, "loss", c->loss == TN_LOSS_MSE ? "mse" : "xent");
    tn_json_str(j, "opt", opt_name[c->opt]);
    tn_json_int(j, "batch", c->batch);
    tn_json_num(j, "lr", c->lr);
    tn_json_num(j, "momentum", c->momentum);
    tn_json_num(j, "wd", c->wd);
    tn_json_str(j, "schedule", sched);
    tn_json_num(j, "lr_gamma", c->step_gamma);
    tn_json_int(j, "warmup", c->warmup);
    tn_json_int(j, "steps", c->steps);
    tn_json_num(j, "epochs", c->epochs);
    tn_json_int(j, "eval_every", c->eval_every);
    tn_json_num(j, "target_loss", c->target_loss);
    tn_json_str(j, "train", train_name[c->train_what]);
    tn_json_int(j, "seed", (long long)c->seed);
    tn_json_str(j, "backend", backend_name[c->backend]);
    tn_json_str(j, "math", c->tf32 ? "tf32" : "fp32");
    tn_json_bool(j, "graph", c->graph);
    tn_json_int(j, "gpu", c->gpu);
    tn_json_int(j, "threads", c->threads);
    tn_json_str(j, "diag", c->diag);
    tn_json_num(j, "sharp_sigma", c->sharp_sigma);
    tn_json_int(j, "sharp_draws", c->sharp_draws);
    tn_json_int(j, "ckpt_every", c->ckpt_every);
}

void tn_config_copy_resumable(tn_config *dst, const tn_config *src) {
    dst->steps = src->steps, dst->epochs = src->epochs, dst->halt_after = src->halt_after;
    dst->threads = src->threads, dst->backend = src->backend, dst->gpu = src->gpu;
    dst->eval_every = src->eval_every, dst->ckpt_every = src->ckpt_every;
    dst->target_loss = src->target_loss;
}

uint64_t tn_fnv1a64(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t tn_config_identity(const tn_config *c) {
    tn_config n = *c, d;
    char flags[8192];
    tn_config_defaults(&d);
    tn_config_copy_resumable(&n, &d);
    if (tn_config_to_flags(&n, flags, sizeof flags)) flags[sizeof flags - 1] = '\0'; /* cannot happen: < 3 KiB */
    return tn_fnv1a64(flags, strlen(flags));
}

void tn_config_identity_hex(const tn_config *c, char hex[17]) {
    snprintf(hex, 17, "%016llx", (unsigned long long)tn_config_identity(c));
}

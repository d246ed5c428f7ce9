/* The plan: what a model is, without a backend or memory (DESIGN.md §8). Its public face is the
 * tensor table, the arenas, the linear maps and the taps; tn_plan_bytes, the one count of what a
 * model allocates, derives from the same records the executor walks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/plan.h"

static const char *arena_names[TN_ARENAS] = {"w", "bn", "bn.running_mean", "bn.running_var", "scalars"};
const char *tn_arena_name(int arena) { return arena >= 0 && arena < TN_ARENAS ? arena_names[arena] : "?"; }

tn_plan *tn_plan_new(int p, int d, int loss) {
    tn_plan *pl = calloc(1, sizeof *pl);
    if (pl) pl->p = p, pl->d = d, pl->loss = loss;
    return pl;
}

void tn_plan_free(tn_plan *p) {
    if (!p) return;
    free(p->units), free(p->tensors), free(p->maps), free(p->slot_width), free(p->tap_unit), free(p->shortcuts);
    free(p);
}

static void *dup(const void *src, size_t bytes) {
    void *d = malloc(bytes ? bytes : 1);
    if (d && bytes) memcpy(d, src, bytes);
    return d;
}

tn_plan *tn_plan_copy(const tn_plan *p) {
    tn_plan *c = malloc(sizeof *c);
    if (!c) return NULL;
    *c = *p;
    c->units = dup(p->units, (size_t)p->nunits * sizeof *p->units);
    c->tensors = dup(p->tensors, (size_t)p->ntensors * sizeof *p->tensors);
    c->maps = dup(p->maps, (size_t)p->nmaps * sizeof *p->maps);
    c->slot_width = dup(p->slot_width, (size_t)p->nslots * sizeof *p->slot_width);
    c->tap_unit = dup(p->tap_unit, (size_t)p->ntaps * sizeof *p->tap_unit);
    c->shortcuts = dup(p->shortcuts, (size_t)p->nshortcuts * sizeof *p->shortcuts);
    if (!c->units || !c->tensors || !c->maps || !c->slot_width || !c->tap_unit || !c->shortcuts) {
        tn_plan_free(c);
        return NULL;
    }
    return c;
}

/* Appends one element of `size` bytes to a growing array (capacity doubles at powers of two). */
static int push(void **arr, int *n, size_t size, const void *elem) {
    if ((*n & (*n - 1)) == 0) {
        void *na = realloc(*arr, (size_t)(*n ? 2 * *n : 1) * size);
        if (!na) return -1;
        *arr = na;
    }
    memcpy((char *)*arr + (size_t)*n * size, elem, size);
    return (*n)++;
}

int tn_plan_add_tensor(tn_plan *p, const char *name, int ndim, const int64_t *shape, int arena, int init,
                       float init_val, int trains, int weight) {
    tn_tensor t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.ndim = ndim, t.arena = arena, t.init = init, t.init_val = init_val, t.trains = trains, t.weight = weight;
    t.len = 1;
    for (int k = 0; k < ndim; k++) t.shape[k] = shape[k], t.len *= (size_t)shape[k];
    return push((void **)&p->tensors, &p->ntensors, sizeof t, &t);
}

int tn_plan_add_slot(tn_plan *p, int width) { return push((void **)&p->slot_width, &p->nslots, sizeof width, &width); }

int tn_plan_add_unit(tn_plan *p, const tn_unit *u) {
    tn_unit v = *u;
    int idx = p->nunits;
    v.tap = -1;
    if (u->tap >= 0) {
        if (push((void **)&p->tap_unit, &p->ntaps, sizeof idx, &idx) < 0) return -1;
        v.tap = p->ntaps - 1;
    }
    return push((void **)&p->units, &p->nunits, sizeof v, &v);
}

int tn_plan_add_map(tn_plan *p, const tn_map *m) { return push((void **)&p->maps, &p->nmaps, sizeof *m, m); }
int tn_plan_add_shortcut(tn_plan *p, const tn_shortcut *s) {
    return push((void **)&p->shortcuts, &p->nshortcuts, sizeof *s, s);
}

void tn_plan_layout(tn_plan *p) {
    memset(p->arena_len, 0, sizeof p->arena_len);
    for (int i = 0; i < p->ntensors; i++) {
        tn_tensor *t = &p->tensors[i];
        t->off = p->arena_len[t->arena];
        p->arena_len[t->arena] += t->len;
    }
    p->bn_half = p->arena_len[TN_ARENA_BN] / 2;
}

int tn_plan_tensors(const tn_plan *p, const tn_tensor **t) {
    *t = p->tensors;
    return p->ntensors;
}
int tn_plan_maps(const tn_plan *p, const tn_map **m) {
    *m = p->maps;
    return p->nmaps;
}
size_t tn_plan_arena_len(const tn_plan *p, int arena) { return arena >= 0 && arena < TN_ARENAS ? p->arena_len[arena] : 0; }
int tn_plan_taps(const tn_plan *p) { return p->ntaps; }
int tn_plan_tap_width(const tn_plan *p, int tap) { return p->units[p->tap_unit[tap]].out; }
int tn_plan_inputs(const tn_plan *p) { return p->p; }
int tn_plan_outputs(const tn_plan *p) { return p->d; }

int tn_plan_max_width(const tn_plan *p) {
    int w = 0;
    for (int i = 0; i < p->nmaps; i++) {
        if (p->maps[i].out > w) w = p->maps[i].out;
        if (p->maps[i].in > w) w = p->maps[i].in;
    }
    return w;
}

double tn_plan_macs(const tn_plan *p) {
    double macs = 0.0;
    for (int u = 0; u < p->nunits; u++) {
        const tn_unit *U = &p->units[u];
        if (U->kind == TN_UNIT_FC) macs += (double)U->in * U->out;
        if (U->kind == TN_UNIT_CONV) macs += (double)U->g.oh * U->g.ow * U->g.oc * U->g.c * U->g.k * U->g.k;
    }
    return macs;
}

long long tn_plan_params(const tn_plan *p) {
    return (long long)(p->arena_len[TN_ARENA_W] + p->arena_len[TN_ARENA_BN] + p->arena_len[TN_ARENA_SCALARS]);
}

/* The counts tn_model_create and tn_diag_open allocate, buffer by buffer (model.c, diag.c). */
size_t tn_plan_bytes(const tn_plan *p, int nb, unsigned keep) {
    size_t n = (size_t)nb, f = 0, nw = p->arena_len[TN_ARENA_W], nbn = p->arena_len[TN_ARENA_BN];
    f += nw * (1 + ((keep & TN_KEEP_GRADS) ? 1 : 0) + ((keep & TN_KEEP_VELOCITY) ? 1 : 0));
    if (nbn) f += 3 * nbn + 4 * p->bn_half; /* values, grads, velocity; running and batch statistics */
    f += 3 * p->arena_len[TN_ARENA_SCALARS];
    f += n * (p->cols_per_ex + (size_t)p->stash_width + 2 * (size_t)p->sc_width) + (size_t)p->tau_units;
    for (int s = 0; s < p->nslots; s++) f += n * (size_t)p->slot_width[s];
    f += n * (size_t)p->p + n * (size_t)p->d;                           /* input rows, dlogits */
    f += (size_t)(p->grad_slots + 1) * n * (size_t)p->grad_width + 16; /* gradients, du, scal + hyp */
    if (keep & TN_KEEP_DIAG) {
        size_t v = (size_t)tn_plan_max_width(p);
        if (n > v) v = n;
        f += 3 * (v + 2);
        if (keep & TN_KEEP_W0) f += nw;
        if (keep & TN_KEEP_SHARP) f += nw + nw + 2;
    }
    return f * sizeof(float) + n * sizeof(int32_t); /* + the batch labels */
}

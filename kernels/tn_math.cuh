/* Per-element math shared by the CPU backend (compiled as C) and the CUDA kernels (nvcc).
 * Each formula lives here once so both backends compute the same thing; see docs/ARCHITECTURE.md.
 * C-compatible: no references, no templates, no overloading. */
#ifndef TAUNET_TN_MATH_CUH
#define TAUNET_TN_MATH_CUH

#ifdef __CUDACC__
#define TN_HD __host__ __device__
#else
#define TN_HD
#endif

#include <math.h>

TN_HD static inline float tn_relu(float x) { return x > 0.0f ? x : 0.0f; }

/* BN applied to one element: gamma * (z - mean) * invstd + beta. */
TN_HD static inline float tn_bn_apply(float z, float mean, float invstd, float gamma, float beta) {
    return gamma * ((z - mean) * invstd) + beta;
}

/* The one activation of every hidden layer: h = relu(hprev + tau * u), u = z or BN(z).
 * PlainNet passes hprev = 0 and tau = 1. */
TN_HD static inline float tn_act(float hprev, float tau, float u) { return tn_relu(hprev + tau * u); }

/* Gradient through relu given its output h (h > 0 <=> pre-activation > 0). */
TN_HD static inline float tn_relu_bwd(float h, float dh) { return h > 0.0f ? dh : 0.0f; }

/* BN backward (train mode, batch statistics), per element, given the column sums
 * sum_dy = sum_i dy_i and sum_dy_xhat = sum_i dy_i * xhat_i over the n rows:
 * dz = gamma * invstd / n * (n * dy - sum_dy - xhat * sum_dy_xhat). */
TN_HD static inline float tn_bn_bwd(float dy, float xhat, float gamma, float invstd, float n,
                                    float sum_dy, float sum_dy_xhat) {
    return gamma * invstd / n * (n * dy - sum_dy - xhat * sum_dy_xhat);
}

/* SGD step with PyTorch semantics: g' = g + wd*w; v = mu*v + g' (v starts at 0, so the first step
 * stores g' as PyTorch does); w -= lr * (mu ? v : g'). Returns the new w; *v updated when mu != 0. */
TN_HD static inline float tn_sgd(float w, float g, float *v, float lr, float mu, float wd) {
    float gp = g + wd * w;
    if (mu != 0.0f) {
        *v = mu * (*v) + gp;
        gp = *v;
    }
    return w - lr * gp;
}

/* Sharpness perturbation of one weight: w + sigma * |w| * eps. */
TN_HD static inline float tn_perturb(float w, float eps, float sigma) { return w + sigma * fabsf(w) * eps; }

/* Running-statistics update of BatchNorm (PyTorch): r = (1 - momentum) r + momentum * batch,
 * with the unbiased variance for running_var. */
TN_HD static inline float tn_ema(float r, float batch, float momentum) {
    return (1.0f - momentum) * r + momentum * batch;
}

/* Losses on one row of logits f[0..d) with label y. Each returns the row loss and writes the
 * gradient of (scale * loss) into g (when g is not NULL); *correct = 1 when argmax f == y
 * (first maximum wins, as torch.argmax).
 * mse:  1/2 ||f - onehot(y)||^2,   d/df = f - onehot(y)
 * xent: logsumexp(f) - f_y,        d/df = softmax(f) - onehot(y) */
TN_HD static inline int tn_argmax(const float *f, int d) {
    int best = 0;
    for (int j = 1; j < d; j++)
        if (f[j] > f[best]) best = j;
    return best;
}

TN_HD static inline float tn_mse_row(const float *f, int d, int y, float scale, float *g, float *correct) {
    float loss = 0.0f;
    for (int j = 0; j < d; j++) {
        float r = f[j] - (j == y ? 1.0f : 0.0f);
        loss += 0.5f * r * r;
        if (g) g[j] = scale * r;
    }
    *correct = tn_argmax(f, d) == y ? 1.0f : 0.0f;
    return loss;
}

TN_HD static inline float tn_xent_row(const float *f, int d, int y, float scale, float *g, float *correct) {
    float mx = f[0];
    for (int j = 1; j < d; j++) mx = f[j] > mx ? f[j] : mx;
    float s = 0.0f;
    for (int j = 0; j < d; j++) s += expf(f[j] - mx);
    float lse = mx + logf(s);
    if (g)
        for (int j = 0; j < d; j++) g[j] = scale * (expf(f[j] - lse) - (j == y ? 1.0f : 0.0f));
    *correct = tn_argmax(f, d) == y ? 1.0f : 0.0f;
    return lse - f[y];
}

#endif

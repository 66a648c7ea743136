package attnc.launch;

import attnc.tensor.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The gradients a backward launch computed, by what they are of, in {@link Wrt#all}'s order
 * (dq, dk, dv, then inputs in declaration order). dq is [B, H, Nq, D], dk [B, Hkv, Nkv, D] and dv [B, Hkv, Nkv, Dv] (GQA: summed over the
 * query heads that share a KV head); an input's gradient has the input's shape. All are
 * float32, whatever the storage dtype of what they are the gradient of.
 */
public record Gradients(Map<Wrt, Tensor> values) {

    public Gradients {
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public Tensor get(Wrt wrt) {
        Tensor t = values.get(wrt);
        if (t == null) {
            throw new IllegalArgumentException("no gradient " + wrt.label() + " was computed; have "
                    + (values.isEmpty() ? "none" : values.keySet().stream().map(Wrt::label).collect(Collectors.joining(", "))));
        }
        return t;
    }

    public Tensor dq() { return get(Wrt.Q); }
    public Tensor dk() { return get(Wrt.K); }
    public Tensor dv() { return get(Wrt.V); }
    public Tensor input(String name) { return get(Wrt.input(name)); }

    /**
     * The first element, in {@link #values}' order, whose bits differ from {@code other}'s, as
     * {@code "dq[i]: a then b"}; empty when every gradient here has the same bits there (what two
     * runs of a deterministic backward must give).
     */
    public Optional<String> firstDifference(Gradients other) {
        for (Map.Entry<Wrt, Tensor> e : values.entrySet()) {
            float[] a = e.getValue().floats(), b = other.get(e.getKey()).floats();
            for (int i = 0; i < a.length; i++) {
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                    return Optional.of(e.getKey().label() + "[" + i + "]: " + a[i] + " then " + b[i]);
                }
            }
        }
        return Optional.empty();
    }
}

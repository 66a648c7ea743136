package attnc.jvm;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * Random patterns as .attn text: a mask (index-only, data-dependent or both, combined with
 * && and ||), an optional routed selection, a score modifier, a normalisation, an output
 * transform and a scale, each drawn from the families DESIGN.md lists, with float inputs read
 * per head, per (bucket of q − kv), per query, per key and per output channel, so that every way
 * a backward pass reduces an input's gradient is exercised. Every fragment names the
 * inputs it reads; {@link #inputs} builds them for a shape with random values (ints small and
 * non-negative, as ids and lengths are).
 */
final class RandomPatterns {
    private RandomPatterns() {}

    /** A fragment of source and the inputs it reads. */
    record Part(String text, List<String> inputs) {
        static Part of(String text, String... inputs) { return new Part(text, List.of(inputs)); }
    }

    record Case(String source, Set<String> inputs) {
        @Override public String toString() { return source; }
    }

    static final Map<String, String> DECLARATIONS = Map.ofEntries(
            Map.entry("doc", "input doc: int32[B, Nkv]"),
            Map.entry("len", "input len: int32[B]"),
            Map.entry("slope", "input slope: float32[H]"),
            Map.entry("table", "input table: float32[H, 64]"),
            Map.entry("sinks", "input sinks: float32[H]"),
            Map.entry("gate", "input gate: float32[B, H, Nkv]"),
            Map.entry("chan", "input chan: bfloat16[B, H, Dv]"),
            Map.entry("sel", "input sel: int32[B, H, QB, K]"),
            Map.entry("G", "input G: float32[B, H, Nkv]"),
            Map.entry("kf", "input kf: float32[B, Nkv]"),
            Map.entry("temp", "input temp: float32[H]"));

    static Arbitrary<Part> masks() {
        Arbitrary<Integer> w = Arbitraries.integers().between(1, 40);
        Arbitrary<Part> one = Arbitraries.oneOf(
                Arbitraries.just(Part.of("true")),
                Arbitraries.just(Part.of("q >= kv")),
                w.map(x -> Part.of("q >= kv && q - kv < " + x)),
                w.map(x -> Part.of("kv < " + x + " || q >= kv")),
                w.map(x -> Part.of("q / " + x + " == kv / " + x)),
                Arbitraries.integers().between(1, 5).map(x -> Part.of("(q - kv) % " + x + " == 0")),
                w.map(x -> Part.of("abs(q - kv) <= " + x)),
                Arbitraries.just(Part.of("bitlen(abs(q - kv)) % 2 == 0")),
                Arbitraries.just(Part.of("(q ^ kv) & 3 != 1")),
                Arbitraries.just(Part.of("h % 2 == 0 || q >= kv")),
                Arbitraries.just(Part.of("(q >> 3) - (kv >> 3) < 2")),
                // Floored / and % of negative dividends (kv > q): truncation would give other values.
                Arbitraries.integers().between(3, 7).map(x -> Part.of("(q - kv) % " + x + " == 1")),
                Arbitraries.integers().between(2, 9).map(x -> Part.of("(kv - q) / " + x + " >= -1")),
                // NaN above the diagonal: NaN compares false, and != true, with every comparison.
                Arbitraries.of("<", "<=", ">", ">=", "==", "!=").map(op -> Part.of("sqrt(float(q - kv)) " + op + " 3.0")),
                Arbitraries.of("<", ">=", "!=").map(op -> Part.of("log(float(q - kv)) " + op + " 1.5")),
                Arbitraries.just(Part.of("doc[b, min(q, Nkv - 1)] == doc[b, kv]", "doc")),
                Arbitraries.just(Part.of("kv < len[b]", "len")),
                Arbitraries.just(Part.of("false")));
        return Arbitraries.oneOf(one, Combinators.combine(one, one, Arbitraries.of("&&", "||"))
                .as((a, b, op) -> new Part("(" + a.text() + ") " + op + " (" + b.text() + ")", concat(a.inputs(), b.inputs()))));
    }

    static Arbitrary<Part> scores() {
        return Arbitraries.oneOf(
                Arbitraries.just(Part.of("s")),
                Arbitraries.of(0.5, 2.0, 5.0).map(c -> Part.of(c + " * tanh(s / " + c + ")")),
                Arbitraries.just(Part.of("s - slope[h] * abs(q - kv)", "slope")),
                Arbitraries.just(Part.of("s + table[h, min(max(q - kv + 32, 0), 63)]", "table")),
                Arbitraries.just(Part.of("s + 0.25 * (kv % 3) - 0.1 * (q % 2)")),
                Arbitraries.just(Part.of("s + 0.1 * ((q - kv) % 5) + 0.05 * ((q - kv - 3) / 4)")),
                Arbitraries.just(Part.of("q >= kv ? s : s * 0.5")),
                // sqrt(abs(s) + 0.25): sqrt and abs, with a derivative that stays bounded where s is 0 (the backward is checked too).
                Arbitraries.just(Part.of("max(s, -0.5) + sqrt(abs(s) + 0.25)")),
                Arbitraries.just(Part.of("s * exp(-0.01 * (q - kv))")),
                Arbitraries.just(Part.of("s * exp(0.2 * (G[b, h, min(q, Nkv - 1)] - G[b, h, kv]))", "G")),
                Arbitraries.just(Part.of("s + kf[b, kv] * G[b, h, min(q, Nkv - 1)]", "kf", "G")));
    }

    static Arbitrary<Part> norms() {
        return Arbitraries.oneOf(
                Arbitraries.just(Part.of("softmax")),
                Arbitraries.just(Part.of("softmax(sink = sinks[h])", "sinks")),
                Arbitraries.just(Part.of("softmax(sink = 0.5)")),
                Arbitraries.just(Part.of("sigmoid(bias = -1.0)")),
                Arbitraries.just(Part.of("none")));
    }

    static Arbitrary<Part> outputs() {
        return Arbitraries.oneOf(
                Arbitraries.just(Part.of("o")),
                Arbitraries.just(Part.of("o * sigmoid(gate[b, h, min(q, Nkv - 1)])", "gate")),
                Arbitraries.just(Part.of("o * chan[b, h, d]", "chan")),
                Arbitraries.just(Part.of("o + 0.01 * d")));
    }

    static Arbitrary<Case> cases() {
        Arbitrary<Part> scale = Arbitraries.of(Part.of(""), Part.of("scale: 0.3\n"), Part.of("scale: 0.3 * temp[h]\n", "temp"));
        Arbitrary<Boolean> select = Arbitraries.integers().between(0, 5).map(x -> x == 0);
        return Combinators.combine(masks(), scores(), norms(), outputs(), scale, select).as((mask, score, norm, output, sc, sel) -> {
            Set<String> inputs = new LinkedHashSet<>();
            for (Part p : List.of(mask, score, norm, output, sc)) inputs.addAll(p.inputs());
            if (sel) inputs.add("sel");
            StringBuilder text = new StringBuilder();
            for (String i : inputs) text.append(DECLARATIONS.get(i)).append('\n');
            text.append("mask: ").append(mask.text()).append('\n');
            if (sel) text.append("select: kv / 8 in sel[b, h, min(q / 8, QB - 1)]\n");
            if (!score.text().equals("s")) text.append("score: ").append(score.text()).append('\n');
            if (!norm.text().equals("softmax")) text.append("norm: ").append(norm.text()).append('\n');
            if (!output.text().equals("o")) text.append("output: ").append(output.text()).append('\n');
            text.append(sc.text());
            return new Case(text.toString(), inputs);
        });
    }

    /** Random input tensors for a case at the given sizes. */
    static Map<String, Tensor> inputs(Set<String> names, int batch, int heads, int nkv, int dv, Random r) {
        Map<String, Tensor> out = new TreeMap<>();
        for (String name : names) {
            out.put(name, switch (name) {
                case "doc" -> ints(new int[] {batch, nkv}, 3, r);
                case "len" -> ints(new int[] {batch}, nkv + 1, r);
                case "slope" -> Tensor.random(DType.FLOAT32, new int[] {heads}, r);
                case "table" -> Tensor.random(DType.FLOAT32, new int[] {heads, 64}, r);
                case "sinks" -> Tensor.random(DType.FLOAT32, new int[] {heads}, r);
                case "gate" -> Tensor.random(DType.FLOAT32, new int[] {batch, heads, nkv}, r);
                case "chan" -> Tensor.random(DType.BFLOAT16, new int[] {batch, heads, dv}, r);
                case "G" -> Tensor.random(DType.FLOAT32, new int[] {batch, heads, nkv}, r);
                case "kf" -> Tensor.random(DType.FLOAT32, new int[] {batch, nkv}, r);
                case "temp" -> Tensor.random(DType.FLOAT32, new int[] {heads}, r);
                case "sel" -> {
                    int[] data = new int[batch * heads * 4 * 3];
                    for (int i = 0; i < data.length; i++) data[i] = r.nextInt(nkv / 8 + 2) - 1;
                    yield Tensor.ofInts(DType.INT32, new int[] {batch, heads, 4, 3}, data);
                }
                default -> throw new IllegalArgumentException(name);
            });
        }
        return out;
    }

    private static Tensor ints(int[] shape, int bound, Random r) {
        int[] data = new int[Math.toIntExact(Tensor.elementCount(shape))];
        for (int i = 0; i < data.length; i++) data[i] = r.nextInt(bound);
        return Tensor.ofInts(DType.INT32, shape, data);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}

package attnc.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The exactness table: for every example in examples/ and in-test copies of the common masks,
 * the derived classification against brute force, in two launches (aligned tiles 64 x 64; and
 * 48 x 80 tiles over sizes that are not multiples, with a bottom-right query offset). Patterns
 * claimed exact must be; the others print how much they visit beyond the truth. Also printed:
 * the same with plain intervals (no linear forms), to show what relational reasoning buys.
 */
class ExactnessTest {

    /** name, source (or the file, for examples: imports resolve against it), whether claimed exact. */
    record Case(String name, String source, Path file, boolean claimedExact) {
        Case(String name, String source, boolean claimedExact) {
            this(name, source, null, claimedExact);
        }

        Pattern compile() throws CompileException {
            return file != null ? Frontend.compile(file) : Frontend.compile(name, source);
        }
    }

    static final List<Case> CASES = List.of(
            new Case("causal", "mask: q >= kv", true),
            new Case("sliding window", "param window: int = 256\nmask: q >= kv && q - kv < window", true),
            new Case("prefix-LM", "param prefix: int = 300\nmask: kv < prefix || q >= kv", true),
            new Case("chunked", "param chunk: int = 192\nmask: q / chunk == kv / chunk", true),
            new Case("chunked causal", "param chunk: int = 256\nmask: q / chunk == kv / chunk && q >= kv", true),
            new Case("sinks + window", "param sinks: int = 4\nparam window: int = 200\nmask: kv < sinks || (q >= kv && q - kv < window)", true),
            new Case("dilated", "param window: int = 512\nparam dilation: int = 2\nmask: q >= kv && q - kv < window && (q - kv) % dilation == 0", true),
            new Case("1-D neighborhood", "param radius: int = 100\nmask: abs(q - kv) <= radius", true),
            new Case("1-D neighborhood, dilated", "param radius: int = 40\nparam dilation: int = 3\nmask: abs(q - kv) <= radius * dilation && (q - kv) % dilation == 0", true),
            new Case("2-D neighborhood", "param width: int = 32\nparam radius: int = 3\n"
                    + "mask: abs(q / width - kv / width) <= radius && abs(q % width - kv % width) <= radius", true),
            new Case("3-D neighborhood", "param w: int = 8\nparam r: int = 1\n"
                    + "mask: abs(q / (w * w) - kv / (w * w)) <= r && abs(q / w % w - kv / w % w) <= r && abs(q % w - kv % w) <= r", true),
            new Case("exponentially spaced", "mask: (let dist = q - kv; dist >= 0 && (dist & (dist - 1)) == 0)", true),
            new Case("block causal (q - q % chunk)", "param chunk: int = 64\nmask: kv < q - q % chunk + chunk && kv >= q - q % chunk - 256", true),
            new Case("window, rewritten", "param window: int = 100\nmask: 2 * kv <= q + kv && q - kv < window", true),
            new Case("per-head", "mask: h % 2 == 0 ? q >= kv : abs(q - kv) < 128", true),
            new Case("document", "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]", true),
            new Case("document causal", "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv] && q >= kv", true),
            new Case("document (ids in random order)", "input shuffled: int32[B, Nkv]\nmask: shuffled[b, q] == shuffled[b, kv]", true),
            new Case("padding by lengths", "input len: int32[B]\nmask: kv < len[b] && q >= kv", true),
            new Case("per-head windows", "input windows: int32[H]\nmask: q >= kv && (windows[h] <= 0 || q - kv < windows[h])", true),
            new Case("top-k blocks (MoBA)", "input sel: int32[B, H, (Nkv + 63) / 64, TopK]\nmask: q >= kv\nselect: kv / 64 in sel[b, h, q / 64]", true));

    private static final Map<String, Boolean> ALIGNED_ONLY = Map.of("top-k blocks (MoBA)", true);

    @Test
    void derivedClassificationIsExactWhereClaimed() throws Exception {
        List<String> failures = new ArrayList<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%-28s %-9s %10s %10s %10s %8s%n",
                "pattern", "launch", "derived", "brute", "intervals", "exact"));
        for (Case c : allCases()) {
            Pattern pattern = c.compile();
            String unsupported = unsupported(pattern);
            if (unsupported != null) {
                table.append(String.format(Locale.ROOT, "%-28s skipped: %s%n", c.name(), unsupported));
                continue;
            }
            for (Launch launch : List.of(Launch.ALIGNED, Launch.UNALIGNED)) {
                Binding binding = launch.binding(pattern);
                Map<String, Tensor> inputs = LaunchInputs.make(pattern, binding.sizes(), new Random(7));
                BlockSparsity.Summary s = BlockSparsity.summarize(pattern, binding, inputs, launch.tileQ, launch.tileKv, Long.MAX_VALUE);
                String plain = "-";
                if (!attnc.ir.ExprTree.readsInputs(pattern.visibility())) {
                    TileClassifier intervals = ClassifyTiles.intervalsOnly(pattern, binding, launch.tileQ, launch.tileKv);
                    plain = String.format(Locale.ROOT, "%.4f", BlockSparsity.summarize(pattern, binding, inputs, intervals, Long.MAX_VALUE).derived().visitedFraction());
                }
                table.append(String.format(Locale.ROOT, "%-28s %-9s %10.4f %10.4f %10s %8s%n", c.name(), launch.name().toLowerCase(Locale.ROOT),
                        s.derived().visitedFraction(), s.truth().visitedFraction(), plain,
                        s.exact() ? "yes" : "+" + s.extraVisited() + "v/+" + s.extraMasked() + "m"));
                boolean claimed = c.claimedExact() && (launch == Launch.ALIGNED || !ALIGNED_ONLY.containsKey(c.name()));
                if (claimed && !s.exact()) failures.add(c.name() + " (" + launch + ") claimed exact:\n" + s.text());
                assertTrue(s.derived().visitedFraction() >= s.truth().visitedFraction(), c.name() + " visits fewer tiles than the truth");
            }
        }
        System.out.print(table);
        assertEquals(List.of(), failures);
    }

    /** Why this test cannot make a launch for the pattern (a param without default), or null. */
    private static String unsupported(Pattern pattern) {
        for (var p : pattern.params()) if (p.defaultValue().isEmpty()) return "param " + p.name() + " has no default";
        return null;
    }

    /** The in-test cases plus every example of the repository (its claim: exact unless it reads inputs we cannot make). */
    private static List<Case> allCases() throws IOException {
        List<Case> all = new ArrayList<>(CASES);
        Path examples = Path.of("..", "examples");
        if (Files.isDirectory(examples)) {
            try (Stream<Path> files = Files.list(examples)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".attn")).sorted().toList()) {
                    all.add(new Case("examples/" + f.getFileName(), Files.readString(f), f, false));
                }
            }
        }
        return all;
    }

    enum Launch {
        ALIGNED(768, 768, 0, 64, 64), UNALIGNED(500, 700, 200, 48, 80);

        final int nq, nkv, offset, tileQ, tileKv;

        Launch(int nq, int nkv, int offset, int tileQ, int tileKv) {
            this.nq = nq;
            this.nkv = nkv;
            this.offset = offset;
            this.tileQ = tileQ;
            this.tileKv = tileKv;
        }

        Binding binding(Pattern pattern) {
            Map<String, Integer> sizes = LaunchInputs.sizes(pattern, Map.of("B", 2, "H", 2, "Hkv", 2, "Nq", nq, "Nkv", nkv, "D", 16, "Dv", 16));
            Map<String, attnc.ir.Expr> params = new HashMap<>();
            for (var p : pattern.params()) params.put(p.name(), p.defaultValue().orElseThrow());
            return new Binding(sizes, offset, Map.copyOf(params));
        }
    }
}

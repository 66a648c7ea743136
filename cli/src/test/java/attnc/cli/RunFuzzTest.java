package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * {@code attnc run} with random options (sizes small, absurd and malformed; offsets, heads,
 * params, dtypes, symbolic sizes, checks) and random damage to the .npy files of --inputs
 * (truncation, flipped bytes, other dtypes, other shapes): it ends with exit 0 and a verdict,
 * exit 1 with one line of error, or exit 2 with a usage message; never a stack trace, never
 * longer than a time box.
 */
class RunFuzzTest {
    private static final long TIME_BOX_SECONDS = 60;
    private static final List<String> PATTERNS = List.of("causal", "document", "topk_blocks", "sliding_window", "t5_bias");
    private static final List<String> SHAPES = List.of("1,2,40,40,8", "1,1,1,1,1", "2,2,9,33,4", "1,1,70,0,8", "0,1,1,1,1", "1,2,3",
            "a,b,c,d,e", "1,1,10000000,10000000,64", "2147483647,1,1,1,1", "-1,1,1,1,1", "1,4,17,5,16");
    private static final List<String> NUMBERS = List.of("0", "1", "-1", "3", "64", "2147483647", "-2147483648", "99999999999", "x", "1.5", "");

    private static final ExecutorService RUNNER = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fuzzed attnc run");
        t.setDaemon(true);
        return t;
    });

    @Property(tries = 60)
    void runEndsWithAVerdictOrOneLine(@ForAll long seed) throws Exception {
        Random random = new Random(seed);
        List<String> args = new ArrayList<>(List.of("run", Cli.EXAMPLES.resolve(pick(random, PATTERNS) + ".attn").toString()));
        Path inputs = null;
        if (random.nextInt(4) == 0) {
            inputs = damagedInputs(random);
            args.addAll(List.of("--inputs", inputs.toString()));
        } else {
            args.addAll(List.of("--shape", pick(random, SHAPES)));
        }
        int options = random.nextInt(4);
        for (int i = 0; i < options; i++) {
            switch (random.nextInt(9)) {
                case 0 -> args.addAll(List.of("--offset", pick(random, NUMBERS)));
                case 1 -> args.addAll(List.of("--heads-kv", pick(random, NUMBERS)));
                case 2 -> args.addAll(List.of("--param", "window=" + pick(random, NUMBERS)));
                case 3 -> args.addAll(List.of("--dtype", pick(random, List.of("float32", "bfloat16", "float64"))));
                case 4 -> args.addAll(List.of("--size", pick(random, List.of("TopK", "Buckets", "NQB")) + "=" + pick(random, NUMBERS)));
                case 5 -> args.addAll(List.of("--int-max", pick(random, NUMBERS)));
                case 6 -> args.addAll(List.of("--check", pick(random, List.of("full", "sample", "none", "most"))));
                case 7 -> args.addAll(List.of("--repeat", pick(random, List.of("1", "0", "-3", "2"))));
                default -> args.addAll(List.of("--warmup", pick(random, List.of("0", "1", "-1"))));
            }
        }
        if (!args.contains("--repeat")) args.addAll(List.of("--repeat", "1"));
        if (!args.contains("--warmup")) args.addAll(List.of("--warmup", "0"));
        Future<Cli> running = RUNNER.submit(() -> Cli.run(args.toArray(String[]::new)));
        Cli cli;
        try {
            cli = running.get(TIME_BOX_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            running.cancel(true);
            fail("no answer within " + TIME_BOX_SECONDS + " s: " + String.join(" ", args));
            return;
        }
        String shown = String.join(" ", args) + "\n" + cli.transcript();
        assertFalse(cli.showsStackTrace(), shown);
        switch (cli.exitCode()) {
            case 0 -> assertTrue(cli.out().contains("\nok ") || cli.out().contains("not measured (--check none)"), shown);
            case 1 -> {
                List<String> lines = cli.err().lines().filter(l -> !l.startsWith("warming up") && !l.startsWith("timing") && !l.startsWith("checking")).toList();
                boolean diagnostic = !lines.isEmpty() && lines.getFirst().contains(": error: ");
                assertTrue(diagnostic || lines.size() == 1 && lines.getFirst().startsWith("attnc: ")
                        || lines.isEmpty() && cli.out().contains("\nFAILED "), shown);
            }
            case 2 -> assertFalse(cli.err().isBlank(), shown);
            default -> fail("exit " + cli.exitCode() + ": " + shown);
        }
    }

    private static <T> T pick(Random random, List<T> options) {
        return options.get(random.nextInt(options.size()));
    }

    /** A document problem saved whole, then one of its files truncated, flipped, retyped or reshaped. */
    private static Path damagedInputs(Random random) throws Exception {
        Path folder = Files.createTempDirectory("attnc-fuzz");
        folder.toFile().deleteOnExit();
        Cli save = Cli.run("run", Cli.EXAMPLES.resolve("document.attn").toString(), "--shape", "1,2,16,16,8", "--repeat", "1", "--warmup", "0",
                "--save", folder.toString());
        assertEquals(0, save.exitCode(), save.transcript());
        Path victim = folder.resolve(pick(random, List.of("q.npy", "k.npy", "v.npy", "doc.npy")));
        byte[] bytes = Files.readAllBytes(victim);
        byte[] damaged = switch (random.nextInt(4)) {
            case 0 -> Arrays.copyOf(bytes, random.nextInt(bytes.length));
            case 1 -> {
                byte[] b = bytes.clone();
                for (int i = 0; i < 1 + random.nextInt(4); i++) b[random.nextInt(Math.min(b.length, 128))] = (byte) random.nextInt();
                yield b;
            }
            case 2 -> new String(bytes, StandardCharsets.ISO_8859_1).replaceFirst("'<[fi]4'", pick(random, List.of("'<f8'", "'>f4'", "'<i2'", "'|b1'")))
                    .getBytes(StandardCharsets.ISO_8859_1);
            default -> new String(bytes, StandardCharsets.ISO_8859_1).replaceFirst("\\(1, ", "(" + pick(random, List.of("2, ", "0, ", "-1, ", "1, 1, ")))
                    .getBytes(StandardCharsets.ISO_8859_1);
        };
        Files.write(victim, damaged);
        try (var files = Files.list(folder)) {
            files.forEach(f -> f.toFile().deleteOnExit());
        }
        return folder;
    }
}

package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.tensor.Npy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line against hostile and mistaken input: each row is one command, the exit code it
 * must end with, the words its message must hold, and the promise that it prints no stack trace,
 * writes no file and leaves what was on disk as it was. {@link #table} prints what each row now
 * prints, for the closing note.
 */
class HostileInputsTest {
    @TempDir
    Path temp;
    private Path good;

    private record Row(String what, String[] args, int exit, String... words) {}

    private static String example(String name) {
        return Cli.EXAMPLES.resolve(name + ".attn").toString();
    }

    @BeforeEach
    void saveAGoodProblem() {
        good = temp.resolve("good");
        Cli cli = Cli.run("run", example("document"), "--shape", "1,2,64,64,16", "--save", good.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
    }

    /** A copy of the good problem folder with one file replaced by {@code bytes}. */
    private Path withFile(String name, byte[] bytes) throws Exception {
        Path folder = Files.createTempDirectory(temp, "inputs");
        try (var files = Files.list(good)) {
            for (Path f : files.toList()) Files.copy(f, folder.resolve(f.getFileName()));
        }
        Files.write(folder.resolve(name), bytes);
        return folder;
    }

    private static byte[] npy(String descr, String shape, byte[] data) {
        StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }");
        while ((10 + header.length() + 1) % 64 != 0) header.append(' ');
        header.append('\n');
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.toString().getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return b.array();
    }

    private static byte[] float64(int count, double value) {
        ByteBuffer b = ByteBuffer.allocate(count * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) b.putDouble(value);
        return b.array();
    }

    private Path file(String name, String text) throws Exception {
        Path f = temp.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    private List<Row> rows() throws Exception {
        byte[] q = Files.readAllBytes(good.resolve("q.npy"));
        byte[] kWithNan = npy("<f4", "1, 2, 64, 16", nanAt(2 * 64 * 16, 37));
        Path emptyDir = Files.createDirectories(temp.resolve("empty-dir"));
        Path existingFile = file("existing.txt", "keep me\n");
        Path overflow = file("overflow.attn", "mask: q - kv < 2147483647 + 1\n");
        Path zeroParam = file("zero.attn", "param z: int = 4\nmask: q / z >= kv / z\n");
        Path latin1 = temp.resolve("latin1.attn");
        Files.write(latin1, "mask: q >= kv // caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        Path lateDoc = file("late_doc.attn", "mask: q >= kv\n//! a file doc after a section\n");
        List<Row> rows = new ArrayList<>();
        rows.add(new Row("a launch larger than the heap", new String[] {"run", example("sliding_window"), "--shape", "1,1,10000000,10000000,64"},
                1, "the launch needs", "-Xmx"));
        rows.add(new Row("a symbolic size beyond any array", new String[] {"run", example("topk_blocks"), "--size", "TopK=1000000000"},
                1, "input 'sel' would have", "elements, more than one Java array holds"));
        rows.add(new Row("query positions beyond int32", new String[] {"run", example("causal"), "--offset", "2147483600"},
                1, "--offset 2147483600", "do not fit in int32"));
        rows.add(new Row("a truncated q.npy", new String[] {"run", example("document"), "--inputs",
                withFile("q.npy", Arrays.copyOf(q, q.length - 100)).toString()}, 1, "q.npy: the data is shorter than its header says (expected 8192 bytes, found 8092)"));
        rows.add(new Row("not a .npy file", new String[] {"run", example("document"), "--inputs",
                withFile("k.npy", "hello, world".getBytes(StandardCharsets.UTF_8)).toString()}, 1, "k.npy: not a .npy file"));
        rows.add(new Row("a shape that is not numbers", new String[] {"run", example("document"), "--inputs",
                withFile("v.npy", npy("<f4", "1, two, 64, 16", new byte[0])).toString()}, 1, "v.npy: malformed .npy header", "'two'"));
        rows.add(new Row("big-endian floats", new String[] {"run", example("document"), "--inputs",
                withFile("v.npy", npy(">f4", "1, 2, 64, 16", new byte[2 * 64 * 16 * 4])).toString()}, 1, "dtype >f4 is not supported", ".astype(np.float32)"));
        rows.add(new Row("NaN in k", new String[] {"run", example("document"), "--inputs", withFile("k.npy", kWithNan).toString()},
                1, "k.npy: NaN at [0, 0, 2, 5]", "expected finite values"));
        rows.add(new Row("plot onto an existing folder", new String[] {"plot", example("causal"), "-o", emptyDir.toString()},
                1, "is a folder; expected the path of a file"));
        rows.add(new Row("run --save onto an existing file", new String[] {"run", example("causal"), "--shape", "1,1,8,8,4", "--save", existingFile.toString()},
                1, "--save", "is a file; expected a folder"));
        rows.add(new Row("run --save under a file", new String[] {"run", example("causal"), "--shape", "1,1,8,8,4", "--save",
                existingFile.resolve("sub").toString()}, 1, "is a file, not a folder"));
        rows.add(new Row("a constant that overflows", new String[] {"run", overflow.toString()}, 1, "overflow.attn:1:16: error: integer overflow: 2147483647 + 1"));
        rows.add(new Row("a param folded to zero under a division", new String[] {"run", zeroParam.toString(), "--param", "z=0", "--fold"},
                1, "zero.attn:2:7: error: division by zero", "z = 0 fixed at compile time"));
        rows.add(new Row("the same, in explain", new String[] {"explain", zeroParam.toString(), "--param", "z=0"}, 1, "zero.attn:2:7: error: division by zero"));
        rows.add(new Row("a file that is not UTF-8", new String[] {"check", latin1.toString()}, 1, "not UTF-8 at byte 20"));
        rows.add(new Row("a file doc comment after a section", new String[] {"check", lateDoc.toString()}, 1, "file doc comment '//!'"));
        rows.add(new Row("a folder as the pattern", new String[] {"check", temp.toString()}, 1, "it is a folder; expected a .attn file"));
        rows.add(new Row("an unknown --check", new String[] {"run", example("causal"), "--check", "most"}, 2, "expected full, sample or none"));
        rows.add(new Row("a head dimension the backend does not support", new String[] {"run", example("causal"), "--shape", "1,1,8,8,576",
                "--backend", "test-limited"}, 1, "attnc: the test-limited backend cannot run this launch: head dims must be multiples of 16 up to 64, got 576"));
        rows.add(new Row("tune on a backend with nothing to tune", new String[] {"tune", example("causal"), "--shape", "1,1,8,8,576",
                "--backend", "test-limited", "--cache", temp.resolve("t.json").toString()}, 1, "attnc: the test-limited backend has nothing to tune"));
        rows.add(new Row("tune with an unknown backend", new String[] {"tune", example("causal"), "--backend", "gpu", "--cache", temp.resolve("t.json").toString()},
                1, "unknown backend 'gpu'; available:"));
        rows.add(new Row("tune without rounds", new String[] {"tune", example("causal"), "--repeats", "0", "--cache", temp.resolve("t.json").toString()},
                1, "--warmup must be >= 0 and --repeats >= 1"));
        rows.add(new Row("tune beyond int32 positions", new String[] {"tune", example("causal"), "--offset", "2147483600",
                "--cache", temp.resolve("t.json").toString()}, 1, "do not fit in int32"));
        rows.add(new Row("export to an unknown target", new String[] {"export", example("causal"), "--target", "wasm"}, 2, "expected one of"));
        rows.add(new Row("export into a file", new String[] {"export", example("causal"), "--target", "classes", "-o", existingFile.toString()},
                1, "is a file; expected a folder"));
        rows.add(new Row("export for an unknown architecture", new String[] {"export", example("causal"), "--target", "ptx", "--arch", "sm_80,sm_75",
                "-o", temp.resolve("ptx").toString()}, 1, "unknown architecture 'sm_75'; expected sm_80 or sm_90a"));
        rows.add(new Row("export a JVM kernel for an architecture", new String[] {"export", example("causal"), "--target", "jar", "--arch", "sm_80",
                "-o", temp.resolve("jar").toString()}, 1, "--arch chooses GPU modules for --target ptx or cubin; the jar target has none"));
        Path blocks = file("blocks.attn", "input sel: int32[B, H, NQB, K]\nmask: q >= kv\nselect: kv / 64 in sel[b, h, q / 64]\n");
        rows.add(new Row("explain with a symbolic size too small", new String[] {"explain", blocks.toString()},
                1, "input 'sel' [2, 2, 8, 8]: index q / 64 of dimension 2 is 8 at b=0, h=0, q=512, kv=0; expected 0..7", "choose symbolic sizes with --size"));
        rows.add(new Row("plot with a symbolic size too small", new String[] {"plot", blocks.toString(), "--n", "256", "--size", "NQB=2",
                "-o", temp.resolve("blocks.png").toString()}, 1, "index q / 64 of dimension 2 is 2"));
        return rows;
    }

    private static byte[] nanAt(int count, int at) {
        ByteBuffer b = ByteBuffer.allocate(count * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) b.putFloat(i == at ? Float.NaN : 0.5f);
        return b.array();
    }

    @Test
    void everyHostileRowEndsWithOneClearLineAndChangesNothing() throws Exception {
        StringBuilder failures = new StringBuilder();
        for (Row row : rows()) {
            Snapshot before = Snapshot.of(temp);
            Cli cli = Cli.run(row.args());
            Snapshot after = Snapshot.of(temp);
            String problem = cli.exitCode() != row.exit() ? "exit " + cli.exitCode()
                    : cli.showsStackTrace() ? "a stack trace"
                    : !Arrays.stream(row.words()).allMatch(cli.err()::contains) ? "words missing"
                    : !before.equals(after) ? "files changed: " + before.difference(after)
                    : null;
            if (problem != null) failures.append(row.what()).append(": ").append(problem).append('\n').append(cli.transcript()).append('\n');
        }
        assertEquals("", failures.toString());
    }

    @Test
    void float64InputsAreConvertedAndSaidSo() throws Exception {
        Path folder = withFile("v.npy", npy("<f8", "1, 2, 64, 16", float64(2 * 64 * 16, 0.25)));
        Cli cli = Cli.run("run", example("document"), "--inputs", folder.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("note      v.npy: float64 converted to float32"), cli.transcript());
    }

    @Test
    void everyHelpExitsZeroWithUsage() {
        for (String[] args : new String[][] {{"--help"}, {"check", "--help"}, {"explain", "--help"}, {"run", "--help"}, {"plot", "--help"},
                {"tune", "--help"}, {"export", "--help"}, {"help", "run"}, {"help", "tune"}, {"run", "-h"}}) {
            Cli cli = Cli.run(args);
            assertEquals(0, cli.exitCode(), String.join(" ", args) + "\n" + cli.transcript());
            assertTrue(cli.out().startsWith("Usage: attnc"), cli.transcript());
            assertEquals("", cli.err(), cli.transcript());
        }
    }

    /** picocli formats help texts with String.format and warns on the JVM's own stderr when one does not format (a bare %). */
    @Test
    void everyHelpTextFormats() {
        List<Class<?>> classes = List.of(Main.class, CheckCommand.class, ExplainCommand.class, RunCommand.class, PlotCommand.class,
                TuneCommand.class, ExportCommand.class, ProblemOptions.class, InputOptions.class, RandomData.class);
        for (Class<?> type : classes) {
            List<String> texts = new ArrayList<>();
            picocli.CommandLine.Command command = type.getAnnotation(picocli.CommandLine.Command.class);
            if (command != null) texts.addAll(List.of(command.description()));
            for (var field : type.getDeclaredFields()) {
                picocli.CommandLine.Option option = field.getAnnotation(picocli.CommandLine.Option.class);
                if (option != null) texts.addAll(List.of(option.description()));
                picocli.CommandLine.Parameters parameters = field.getAnnotation(picocli.CommandLine.Parameters.class);
                if (parameters != null) texts.addAll(List.of(parameters.description()));
            }
            for (String text : texts) {
                try {
                    String.format(text);
                } catch (java.util.IllegalFormatException e) {
                    throw new AssertionError(type.getSimpleName() + ": help text does not format (" + e.getMessage() + "): " + text);
                }
            }
        }
    }

    @Test
    void savedFilesAreWholeOrAbsent() throws Exception {
        // A second save into the same folder replaces each file whole; no partial file is left behind.
        Cli again = Cli.run("run", example("document"), "--inputs", good.toString(), "--save", good.toString());
        assertEquals(0, again.exitCode(), again.transcript());
        try (var files = Files.list(good)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".partial")));
        }
        assertArrayEquals(new int[] {1, 2, 64, 16}, Npy.read(good.resolve("out.npy")).shape());
    }

    /** Every file under a folder with its size and modification time: equal snapshots mean nothing was written. */
    private record Snapshot(List<String> entries) {
        static Snapshot of(Path root) throws Exception {
            try (var walk = Files.walk(root)) {
                return new Snapshot(walk.map(p -> {
                    try {
                        return root.relativize(p) + (Files.isDirectory(p) ? "/" : " " + Files.size(p) + " " + Files.getLastModifiedTime(p));
                    } catch (java.io.IOException e) {
                        return p + " unreadable";
                    }
                }).sorted().toList());
            }
        }

        String difference(Snapshot other) {
            List<String> added = new ArrayList<>(other.entries);
            added.removeAll(entries);
            List<String> removed = new ArrayList<>(entries);
            removed.removeAll(other.entries);
            return "added " + added + ", removed " + removed;
        }
    }
}

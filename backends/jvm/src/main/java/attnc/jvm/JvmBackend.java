package attnc.jvm;

import attnc.ir.Pattern;
import attnc.jvm.emit.GeneratedKernel;
import attnc.jvm.emit.KernelGenerator;
import attnc.jvm.emit.Slots;
import attnc.jvm.emit.Tiling;
import attnc.jvm.kernel.DecodeKernel;
import attnc.jvm.kernel.DecodeLaunch;
import attnc.jvm.kernel.KernelLoader;
import attnc.jvm.kernel.Lanes;
import attnc.jvm.kernel.TileKernel;
import attnc.launch.Binding;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.run.TuningConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The CPU backend ({@code jvm}): one generated Vector API class per pattern. Tile sizes come from
 * the pattern's {@code tile:} section when it fits the kernel's blocking, else the defaults; the
 * tuner picks one of {@link #configurations} and passes it to {@link #compile(Pattern, TuningConfig)}.
 * With {@code -Dattnc.dump=DIR} every generated class is also written under DIR.
 */
public final class JvmBackend implements Backend {
    private static final System.Logger LOG = System.getLogger("attnc");
    /** Whether the warning about precompiled kernels passed over was given (once a process). */
    static final java.util.concurrent.atomic.AtomicBoolean WARNED = new java.util.concurrent.atomic.AtomicBoolean();
    private static final boolean VECTOR_MODULE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /** The message a JVM without the Vector API module gets, instead of a NoClassDefFoundError from deep inside a kernel. */
    static final String NO_VECTOR_MODULE = "attnc: the jvm backend needs the incubating Vector API, and this JVM was started"
            + " without it: add --add-modules jdk.incubator.vector to the java command that runs this code (Maven tests:"
            + " <argLine>--add-modules jdk.incubator.vector</argLine> in maven-surefire-plugin's <configuration>; any java"
            + " command: the option itself, or the environment variable JDK_JAVA_OPTIONS=--add-modules=jdk.incubator.vector)";

    @Override public String name() { return "jvm"; }

    @Override public boolean hasBackward() { return true; }

    @Override
    public JvmKernel compile(Pattern pattern) {
        requireVectorModule();
        return compile(pattern, Tiling.of(pattern));
    }

    /**
     * Query and key tile sizes, pruned for the launch's shape (see {@link TuningSpace}); only the
     * pattern's own when it has a {@code tile:} section.
     */
    @Override
    public List<TuningConfig> configurations(Pattern pattern, Binding binding) {
        requireVectorModule();
        return pattern.tile().isPresent() ? List.of(TuningSpace.knobs(Tiling.of(pattern))) : TuningSpace.of(binding);
    }

    @Override
    public Optional<TuningConfig> defaultConfiguration(Pattern pattern, Binding binding) {
        requireVectorModule();
        return Optional.of(TuningSpace.knobs(Tiling.of(pattern)));
    }

    @Override
    public JvmKernel compile(Pattern pattern, TuningConfig config) {
        requireVectorModule();
        Tiling standard = Tiling.of(pattern);
        return compile(pattern, new Tiling(config.get(TuningSpace.TILE_Q, standard.q()), config.get(TuningSpace.TILE_KV, standard.kv())));
    }

    @Override
    public Optional<String> plan(Pattern pattern, Binding binding) {
        requireVectorModule();
        return Optional.of("tiles " + Tiling.of(pattern) + (pattern.tile().isPresent() ? " (the pattern's tile: section)" : " (default)")
                + "; launches of at most " + DecodeLaunch.MAX_QUERIES + " queries a sequence run the decode kernel (" + JvmDecode.TILE_KV
                + " keys a tile)");
    }

    @Override public String device() { return CpuName.describe(); }

    public JvmKernel compile(Pattern pattern, Tiling tiling) { return compile(pattern, tiling, KernelGenerator.PASS_BYTES); }

    /** {@link #compile(Pattern, Tiling)} with no method of a tile hook over {@code passBytes} bytes: tests force split hooks with it. */
    JvmKernel compile(Pattern pattern, Tiling tiling, int passBytes) {
        requireVectorModule();
        LoweredPattern lowered = LowerPattern.lower(pattern);
        GeneratedKernel main = dump(KernelGenerator.generate(lowered, tiling, passBytes));
        GeneratedKernel decode = dump(KernelGenerator.generateDecode(lowered, JvmDecode.TILE_KV, passBytes));
        return new JvmKernel(lowered, main.slots(), KernelLoader.load(main.bytes()), KernelLoader.load(decode.bytes(), DecodeKernel.class), passBytes);
    }

    /**
     * The default kernel's class files by path ({@code attnc/jvm/kernel/Flash_....class}, the main
     * class, and {@code Decode_....class} for launches of at most 16 queries a sequence) and a
     * {@code kernel.json} describing them;
     * {@link #load} turns them back into a kernel.
     */
    @Override
    public Map<String, byte[]> export(Pattern pattern) {
        requireVectorModule();
        Tiling tiling = Tiling.of(pattern);
        LoweredPattern lowered = LowerPattern.lower(pattern);
        GeneratedKernel main = generate(lowered, tiling), decode = generateDecode(lowered);
        return new java.util.TreeMap<>(Map.of(path(main), main.bytes(), path(decode), decode.bytes(), ExportDescription.FILE,
                ExportDescription.json(pattern, main.className(), tiling.q(), tiling.kv(), decode.className(), JvmDecode.TILE_KV)));
    }

    /**
     * A kernel from the files {@link #export} wrote (e.g. class-path resources of the Maven
     * plugin), defined as hidden classes like freshly generated ones; empty when a file is missing
     * or they were exported from another pattern, another attnc version's layout or a CPU with
     * other vector lanes (the caller then compiles). The first time in a process that exported
     * files are passed over, a warning says why, once: a jar built on an AVX-512 machine and run on
     * an AVX2 one still works, but pays for code generation at run time.
     */
    @Override
    public Optional<Kernel> load(Pattern pattern, Map<String, byte[]> exported) {
        requireVectorModule();
        var reading = ExportDescription.read(pattern, exported.get(ExportDescription.FILE));
        String unfit = reading.unfit();
        byte[] main = null, decode = null;
        if (unfit == null) {
            main = exported.get(reading.classes().main().replace('.', '/') + ".class");
            decode = exported.get(reading.classes().decode().replace('.', '/') + ".class");
            if (main == null || decode == null) unfit = "a class file it names is missing";
        }
        if (unfit != null) {
            if (WARNED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "attnc: the precompiled jvm kernel of pattern '" + pattern.name()
                        + "' is not used because " + unfit + "; it is compiled at run time instead (later kernels passed over"
                        + " for the same kind of reason are not reported)");
            }
            return Optional.empty();
        }
        return Optional.of(new JvmKernel(LowerPattern.lower(pattern), new Slots(pattern), KernelLoader.load(main),
                KernelLoader.load(decode, DecodeKernel.class)));
    }

    /**
     * A kernel from classes generated earlier ({@link #export}, the Maven plugin), found through
     * {@code loader}: the main class and the decode one. {@code pattern} must be the optimised
     * pattern they were generated from; its inputs and params fix the launch slots.
     */
    public JvmKernel load(Pattern pattern, ClassLoader loader, String mainClass, String decodeClass) {
        requireVectorModule();
        return new JvmKernel(LowerPattern.lower(pattern), new Slots(pattern), instantiate(loader, mainClass, TileKernel.class),
                instantiate(loader, decodeClass, DecodeKernel.class));
    }

    private static <T> T instantiate(ClassLoader loader, String className, Class<T> type) {
        T instance;
        try {
            instance = type.cast(Class.forName(className, true, loader).getConstructor().newInstance());
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalArgumentException("cannot load the generated kernel class " + className + ": " + e, e);
        }
        if (instance instanceof TileKernel kernel && kernel.tileQ() % Lanes.L != 0) {
            throw new IllegalArgumentException(className + " has tile q " + kernel.tileQ() + ", not a multiple of this CPU's "
                    + Lanes.L + " float lanes; export it again on a machine like this one");
        }
        return instance;
    }

    /**
     * Kernels are first made here (compile, export, load), so this is where a JVM started without
     * the incubator module is told which flag to add, before any class that needs it is loaded.
     */
    private static void requireVectorModule() {
        if (!VECTOR_MODULE) throw new IllegalStateException(NO_VECTOR_MODULE);
    }

    private static String path(GeneratedKernel kernel) { return kernel.className().replace('.', '/') + ".class"; }

    /** The class file for a pattern, without loading it (also written under -Dattnc.dump). */
    static GeneratedKernel generate(LoweredPattern pattern, Tiling tiling) {
        return dump(KernelGenerator.generate(pattern, tiling));
    }

    /** The decode kernel's class file for a pattern (also written under -Dattnc.dump). */
    static GeneratedKernel generateDecode(LoweredPattern pattern) {
        return dump(KernelGenerator.generateDecode(pattern, JvmDecode.TILE_KV));
    }

    /** {@code generated}, also written under {@code -Dattnc.dump=DIR} when set. */
    static GeneratedKernel dump(GeneratedKernel generated) {
        String dump = System.getProperty("attnc.dump");
        if (dump != null && !dump.isBlank()) {
            try {
                generated.writeTo(Path.of(dump));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the generated class to " + dump, e);
            }
        }
        return generated;
    }
}

/**
 * The help texts of the `specfuse` commands, apart from the commands' code: `specfuse <command>` then loads
 * only the modules of the command it runs (a whole-CLI import costs about 0.3 s on 2 cores; `specfuse info`
 * must answer in well under a second).
 */

export const infoHelp = `specfuse info --model NAME [--preset P] [--bands N] [--stage S] [--json] [--names]

Builds the model's shapes only (no weights are allocated) and prints its parameter counts: total, trainable in
the given stage (all parameters without --stage), and per top-level module.
  --model    panadapter | crossdiff | pnn | pannet | dicnn | fusionnet | infn | mlp
  --preset   panadapter: wv3, wv2, qb, gf2, ikonos (full size) or tiny;
             crossdiff: qb, wv4, ikonos, gf2 (4 bands), wv2, wv3 (8 bands), tiny, tiny8;
             infn: cave, harvard or tiny
  --bands    override the preset's band count (4 or 8; infn: the hyperspectral bands)
  --stage    1 or 2: count what that stage trains
  --json     machine-readable output: {"total":…,"trainable":…,"modules":{…}}
  --names    also list every parameter with its shape`;

export const demoHelp = `specfuse demo [--out DIR] [--data FILE --sensor S] [--steps N] [--device D]

Trains the tiny PanAdapter (stage 1, then stage 2) on the CPU in a few minutes and compares it on
held-out tiles with EXP, BT-H and GSA using the toolbox metrics.
Without --data it makes its own data: procedural WorldView-3-like scenes (land-cover regions with
distinct 8-band spectra, textures, roads and buildings) observed through the sensor's MTF.
  --out      report folder (default ./specfuse-demo): report.md, metrics.json, loss-curves.svg,
             previews.png, scene.png, training logs and weights
  --data     a full-resolution MS + PAN file (.mat with I_MS/I_PAN, .h5, GeoTIFF) to use instead
  --sensor   its sensor when the file does not say (WV3, WV2, QB, GF2, IKONOS)
  --steps    optimizer steps per stage (default 240)
  --batch    batch size (default 8)
  --seed     seed of the scenes, shuffling and initialisation (default 1)
  --device   cpu (default) or cuda`;

export const trainHelp = `specfuse train --model NAME (--data TRAIN.h5 | --scene SCENE) --stage S [options]

Trains one stage of a model on a PanCollection .h5 file (gt, lms, ms, pan; read by sample, never
loaded whole), or on tiles of one original scene, with validation, atomic checkpoints, exact resume
and a JSONL log.
  --model        panadapter | crossdiff | pnn | pannet | dicnn | fusionnet
  --preset       panadapter: wv3, wv2, qb, gf2, ikonos or tiny; crossdiff: qb, wv4, ikonos, gf2,
                 wv2, wv3, tiny or tiny8
  --bands        band count (default: the preset's, or 8)
  --stage        1 or 2 (default: the model's last stage, as in the library; PanAdapter and CrossDiff:
                 stage 2 starts from stage 1's weights, see --init; CrossDiff stage 1 is self-supervised)
  --data         training .h5;  --valid  validation .h5
  --scene        instead of --data: one original MS + PAN pair (.mat with I_MS/I_PAN, ...), cut into
                 tiles; the right --holdout fraction of the scene (default 0.25) is never trained on
                 and is scored at the end against EXP (reduced: SAM, ERGAS, Q2n, PSNR; full: D_lambda,
                 D_s, QNR, HQNR; CrossDiff stage 1: PSNR of DDIM samples of each denoiser)
  --resolution   with --scene: reduced (Wald's protocol, gt = the original MS; default) or full
  --patch        with --scene: tile side on the PAN grid (default 64);  --stride  default patch/2
  --held-out-patch  with --scene: side of the held-out tiles (default --patch; the 21-pixel border
                 cut of the second held-out table needs more than 42)
  --sensor       with --scene, when the file does not say
  --loss         mse | l1 | qnr (no-reference, full resolution) (default: the model's recipe, else mse)
  --optimizer    adam | adamw | sgd (default: the model's recipe, else adam);  --weight-decay
  --scale        divide the data by this (default: by sensor from the file name, 2047 or 1023 for GF2)
  --epochs N | --steps N
  --batch-size   default 4;  --lr  default: the model's recipe, else 1e-4
  --flips        random horizontal/vertical flips of each batch (augmentation)
  --schedule     constant | cosine | step (default constant);  --warmup N  linear warm-up steps
  --step-size N  with --schedule step: multiply the lr by --gamma (default 0.1) every N steps
  --min-lr       with --schedule cosine: the floor (default 0)
  --clip-grad-norm X   clip the global gradient norm at X;  --nan-policy error|skip
  --groups       parameter groups: 'GLOB[,GLOB]:lr=X[:wd=Y];...' (e.g. 'head.**:lr=1e-3') or a
                 JSON list of {params, lr, weightDecay}; the schedule applies to each group's lr
  --no-decay     no weight decay on biases, norms, gates and tensors of rank < 2
  --config       JSON of model options over the preset, for every model (e.g. '{"bands":4}')
  --eval-every N validate every N steps (default: each epoch);  --metrics SAM,ERGAS,...  the
                 toolbox metrics at validation, on DN (Q, SAM, ERGAS, SCC, Q2n, PSNR, SSIM)
  --monitor      valid.loss (default) or valid.<metric>: early stopping and the best weights follow
                 it;  --mode min|max (default by metric);  --save-top-k K (default 1)
  --early-stopping N  stop after N validations without improvement;  --min-delta X
  --checkpoint-every N  default 200;  --keep-checkpoints K  default 2
  --log          tensorboard,csv,jsonl (default jsonl): tensorboard/ event files, metrics.csv, train.jsonl
  --init         weights to start from (.safetensors or a torch.save file, e.g. a DLPan-Toolbox
                 .pth for pnn/pannet/dicnn/fusionnet), loaded strictly through the model's loader;
                 repeat it for checkpoints saved as several files (CrossDiff's official P2M, M2P, head)
  --ipt, --edsr  PanAdapter's pre-trained IPT_pretrain.pt and edsr_baseline_x2 checkpoints
  --out          run folder (default ./specfuse-run): checkpoints/, logs, final.safetensors
                 (aborted.safetensors when stopped by a signal), best.safetensors (with validation),
                 optimizer.torch.safetensors (torch.optim layout); one run at a time per folder
  --resume       continue from the run folder's latest checkpoint (an error when there is none);
                 the options must be the run's (--steps/--epochs may grow), unless --allow-changes
  --fresh        start over in a folder that holds a run (deletes its checkpoints, logs and results)
  SIGINT/SIGTERM: the current step finishes, a checkpoint is written, exit 130/143 (resume with
  --resume); a second signal exits at once.
  --device       cpu (default) or cuda;  --bf16  autocast in bfloat16;  --seed  default 0
  --nproc N      data-parallel training in N local processes (c10d Gloo; the cores split between
                 them; --batch-size is per process); under torchrun or Slurm (RANK, WORLD_SIZE,
                 MASTER_ADDR, MASTER_PORT set) each process is one rank. Rank 0 writes the run folder.
                 With --device cuda the ranks use NCCL, each on its own GPU cuda:LOCAL_RANK.
INFN (MS/HS fusion from a hyperspectral cube): see 'specfuse train --model infn --help'.`;

export const inferHelp = `specfuse infer [--model NAME] --weights W (--input FILE | --pan PAN.tif --ms MS.tif) --out FUSED.tif|.h5|.mat [options]

Fuses a full scene (any size) with a trained model: overlapping 64×64 tiles, batched, averaged.
  --model     panadapter | pnn | pannet | dicnn | fusionnet;  --preset (panadapter). Not needed
              for weights written by specfuse, which record their model (flags override the record)
  --weights   .safetensors or torch.save file (loaded strictly; DLPan-Toolbox .pth checkpoints too)
  --input     .mat (I_MS/I_PAN or ms/pan/lms) or .h5 (first sample)
  --pan, --ms GeoTIFF input instead of --input (--lms optional: else interp23tap of the MS)
  --sensor    when the file does not say (for the scale and preview bands)
  --scale     the model sees input / scale (default: the sensor's DN scale, 2047 for 11-bit);
              inputs that look like reflectance ([0, 1]) get a warning unless --scale is given
  --out       .tif/.tiff (GeoTIFF, georeference kept when the input has one), .h5 (dataset 'sr',
              1×C×H×W) or .mat (variable 'sr', H×W×C), in DN; a PNG preview beside it. The folder
              is checked before the work; files are written whole or not at all
  --fill-non-finite V   replace NaN/±Inf input pixels and outputs by V (default: an error that
              says how many and where)
  --stride    tile step (default 32);  --batch-size  default 16;  --device  cpu or cuda`;

export const evalHelp = `specfuse eval [--model NAME] --weights FILE --data FILE [options]

Runs a pre-trained pansharpening CNN (a DLPan-Toolbox checkpoint, loaded strictly) on whole images
and scores it and EXP (the MS upsampled by interp23tap) with the toolbox metrics, on DN: against
the ground truth when the file has one (reduced resolution: SAM, ERGAS, Q2n, Q, SCC, PSNR, SSIM),
else from the MS and PAN (full resolution: D_lambda, D_s, QNR, D_lambda_K, HQNR).
  --model    pnn | pannet | dicnn | fusionnet (not needed for weights written by specfuse)
  --weights  the checkpoint (.pth: DLPan-Toolbox pretrained-model/{WV3,QB}/...; 8 or 4 bands)
  --data     .mat (PanCollection gt/lms/ms/pan, or I_GT/I_MS/I_MS_LR/I_PAN) or PanCollection .h5
  --pan, --ms, --lms, --gt   GeoTIFF input instead of --data (--pan and --ms or --lms needed)
  --sensor   WV3, WV2, QB, GF2, IKONOS, ... when the file does not say (needed for full resolution)
  --sample   with files holding N images: only image I (0-based); default all, reported as mean±std
  --scale    the models see DN / scale and their outputs are multiplied back (default: the
             sensor's PanCollection scale, 2047 for 11-bit data)
  --bits     radiometric resolution of the metrics (default 11; 10 for GF2)
  --cut      border cut dim_cut of the reduced-resolution metrics (default 0: none; DLPan uses 21)
  --device   cpu (default) or cuda
  --out      folder for <model>_preview.png (PAN, EXP, the model[, GT] of the first image, one
             colour stretch), <model>_fused.mat (variable sr, H×W×C or N×H×W×C, DN) and metrics.json
  --json     machine-readable output instead of the table
  --fill-non-finite V   replace NaN/±Inf input pixels and outputs by V (default: an error that says
             how many and where)
INFN (MS/HS fusion, scored against bicubic): see 'specfuse eval --model infn --help'.`;

export const metricsHelp = `specfuse metrics --fused FILE (--gt FILE | --ms FILE --pan FILE) [options]

Computes the pansharpening quality indices of a fused image as the reference MATLAB toolbox does,
on digital numbers (DN): reduced resolution against a ground truth (Q, SAM, ERGAS, SCC, Q2n, PSNR,
SSIM), or full resolution from the MS and PAN (D_lambda, D_s, QNR, D_lambda_K, HQNR).
  --fused    the fused image: .mat (variable sr, fused, I_F, output, or the only array; H×W×C or
             N×H×W×C), .h5 (dataset sr, fused, output or the only one; C×H×W or N×C×H×W), GeoTIFF
  --gt       reference: .mat/.h5 with gt / I_GT (PanCollection or toolbox layout), or a GeoTIFF
  --ms       full resolution: the low-resolution MS (.mat/.h5 with ms / I_MS_LR, or a GeoTIFF)
  --lms      ... or the MS already upsampled to the PAN grid (lms / I_MS), instead of --ms
  --pan      full resolution: the PAN (.mat/.h5 with pan / I_PAN, or a GeoTIFF)
  --sensor   MTF of the full-resolution indices (WV3, WV2, QB, GF2, IKONOS, GeoEye1, WV4, none);
             default: what the file names say
  --sample   with files holding N > 1 images: use image I (0-based) of each (a file of one image
             is taken as that image, e.g. the output of 'specfuse eval --sample I')
  --ratio    PAN/MS scale ratio (default 4)
  --bits     radiometric resolution in bits (default 11)
  --cut      border cut dim_cut of the reduced-resolution indices (default 0: none; DLPan uses 21)
  --scale    multiply every image by this first (default 1: the files are in DN)
  --json     machine-readable output: {"kind", "count", "metrics": {...}, "perImage": [...], "conventions"}`;

/** True when the command line asks for --model infn (the INF commands take other options). */
export function wantsInfn(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === '--model=infn' || (a === '--model' && argv[i + 1] === 'infn'));
}

const DATA_OPTIONS = `  --data         reference cube: a folder of band PNGs (CAVE: <scene>_ms_01.png …, 16-bit / 65535)
                 or a .mat cube (H×W×C; Harvard 'ref' is divided by its maximum); --key VAR picks the variable
  --wavelengths  band centres in nm, 'first:step' or a comma list (default 400:10, CAVE/Harvard-style)
  --ratio        HR/LR ratio r, 4 (default) or 8 (any integer that divides the image)
  --blur-size, --blur-sigma   LR-HSI Gaussian blur before decimation (default 3 and 0.5)
  --test-crop    side of the held-out crops (default 128): they tile the right-most strip of that
                 width; training patches keep clear of it by r pixels`;

export const infnTrainHelp = `specfuse train --model infn --data CUBE (--steps N | --epochs N) [options]

Trains INFN (implicit neural feature fusion, MS/HS fusion) on patches of one simulated scene: the
HR-MSI is R·X with the Nikon D700 response restricted to the cube's bands, the LR-HSI a Gaussian
blur + decimation by r, HSI_up its bicubic upsampling. Ends with PSNR/SAM/ERGAS/SSIM of the model
and of bicubic on the held-out crops (printed, and metrics.json in --out).
${DATA_OPTIONS}
  --preset       cave (default; 128 features, 4 res-blocks, MLP 256-128), harvard, tiny
  --config       JSON of INFN options over the preset, e.g. '{"hfMsi":true,"border":"clamp"}'
  --patch        HR training patch side (default 64);  --stride  default patch/2
  --steps N | --epochs N;  --batch-size  default 8;  --lr  default 1e-4 (Adam);  --loss l1 (default) | mse
  --schedule     constant (default) | cosine | step
  --out          run folder (default ./specfuse-run): checkpoints/, train.jsonl, final.safetensors
                 (aborted.safetensors when stopped by a signal), metrics.json; one run at a time per folder
  --resume       continue from the run folder's latest checkpoint (an error when there is none);
                 the options must be the run's (--steps/--epochs may grow), unless --allow-changes
  --fresh        start over in a folder that holds a run (deletes its checkpoints, log and results)
  --checkpoint-every N   steps between checkpoints (default 500)
  SIGINT/SIGTERM: the current step finishes, a checkpoint is written, exit 130/143 (resume with
  --resume); a second signal exits at once.
  --device       cpu (default) or cuda;  --seed  initial weights and batch order (default 0)`;

export const infnEvalHelp = `specfuse eval --model infn --weights FILE --data CUBE [options]

Scores a trained INFN and bicubic upsampling (PSNR, SAM in degrees, ERGAS, SSIM; data in [0, 1],
peak 1) on a simulated scene: the held-out crops (as in training) or, with --whole, the whole image.
The model configuration is read from the weights file that 'specfuse train --model infn' wrote
(--preset/--config otherwise).
${DATA_OPTIONS}
  --whole        score the whole image instead of the held-out crops
  --context      HR pixels of input context around each crop (default 16)
  --preset, --config   model options when the weights file does not carry them
  --device       cpu (default) or cuda;  --json  machine-readable output`;

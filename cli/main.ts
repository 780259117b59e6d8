import { Command, CommanderError } from 'commander'
import { isChurnError } from '../core/errors.js'
import { registerContractCommands } from './contract-commands.js'
import { registerDemoCommand } from './demo-command.js'
import { registerFeaturesCommands } from './features-command.js'
import { registerImportCommand } from './import-command.js'
import { registerModelsCommands } from './models-command.js'
import { registerPublishCommand } from './publish-command.js'
import { registerRunCommand } from './run-command.js'
import { registerScoreCommand } from './score-command.js'
import { registerSimulateCommand } from './simulate-command.js'
import { registerStackCommands } from './stack-commands.js'
import { registerTrainCommand } from './train-command.js'
import { registerWatchCommand } from './watch-command.js'

const program = new Command()
  .name('churn')
  .description('Streaming customer-churn platform')
  .showHelpAfterError()
  .exitOverride()

registerStackCommands(program)
registerContractCommands(program)
registerPublishCommand(program)
registerImportCommand(program)
registerSimulateCommand(program)
registerRunCommand(program)
registerFeaturesCommands(program)
registerModelsCommands(program)
registerDemoCommand(program)
registerTrainCommand(program)
registerScoreCommand(program)
registerWatchCommand(program)

try {
  await program.parseAsync(process.argv)
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode
  } else if (isChurnError(error)) {
    console.error(`churn: ${error.message}`)
    process.exitCode = 1
  } else {
    console.error(error)
    process.exitCode = 1
  }
}
